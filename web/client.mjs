// The page's side of tracedrop's worker (web/worker.mjs): a small typed client with request
// ids, progress, cancellation and transferred results. See web/README.md for the protocol.
//
//   import { TracedropClient, parseAnswer } from "./client.mjs";
//   const client = new TracedropClient({ moduleUrl: "/build/wasm/wasm/tracedrop.js" });
//   const opened = await client.open(file, { onProgress: ({ fraction }) => bar(fraction) });
//   if (!opened.ok) show(opened.message);
//   const traces = parseAnswer(await client.traceList({ limit: 50 }));
//   const ac = new AbortController();
//   const exported = await client.export({ format: "otlp-jsonl" }, { signal: ac.signal });
//   if (exported.ok) download(exported.blob);
//
// Every method resolves (never rejects) with the module's answer: {ok: true, value} where value
// is the JSON text of the CLI's --json output, or {ok: false, code, name, message} exactly as the
// module gives it. The client adds two failures of its own: `cancelled` (code 34, the core's
// code) for a request cancelled before it started or by restarting the worker, and
// `worker_failed` (code 40) when the worker or the WebAssembly module could not be loaded or
// crashed.

/**
 * @typedef {{ok: true, value: string}} OkAnswer
 *   value: JSON text (the CLI's `--json` bytes for the same request)
 * @typedef {{ok: false, code: number, name: string, message: string}} ErrorAnswer
 *   code/name: the core's ErrorCode (`not_sqlite`, `io_error`, `cancelled`, ...) or `worker_failed`
 * @typedef {OkAnswer | ErrorAnswer} Answer
 * @typedef {(OkAnswer & {via: "bytes" | "vfs", readAhead?: number, readAheadWith?: string}) | ErrorAnswer} OpenAnswer
 *   via: whether the file was copied into wasm memory or is read on demand through the VFS;
 *   readAhead: how many slices of the file (the bytes path's copy, or the model's one pass) a
 *   worker of its own read ahead (0 without cross-origin isolation, or when the VFS path did not
 *   use the pass); readAheadWith: how it read
 *   them ("stream": the File's stream into a buffer it reuses; "sync": FileReaderSync; "": none)
 * @typedef {(OkAnswer & {blob?: Blob}) | ErrorAnswer} ExportAnswer
 *   value: the export summary {format, gzip, traces, spans, events, bytes, skipped}; blob: the
 *   exported bytes when no onChunk callback was given
 * @typedef {{fraction: number}} FractionProgress  open and search: 0..1
 * @typedef {{done: number, total: number}} CountProgress  export: traces written of total
 *
 * @typedef {object} ClientOptions
 * @property {string | URL} [workerUrl]  the module worker (default: worker.mjs beside this file)
 * @property {string | URL} [moduleUrl]  tracedrop.js (its .wasm beside it); default: tracedrop.mjs's default
 * @property {string | URL} [threadedModuleUrl]  the threaded module, tracedrop_mt.js (its .wasm and
 *   .worker.js beside it); default: tracedrop_mt.js beside moduleUrl
 * @property {boolean} [threads]  use the threaded module where the page is cross-origin isolated
 *   (default true; it falls back to tracedrop.js if it cannot be loaded); false: never
 * @property {number} [jsonTransferMin]  answers longer than this many characters come as transferred
 *   UTF-8 bytes instead of a string (default 65536)
 * @property {{blockSize: number, cacheBytes: number}} [vfs]  VFS block size and cache (default 64 KiB, 32 MiB)
 * @property {boolean} [sharedCancel]  use a SharedArrayBuffer flag to cancel when the page is
 *   cross-origin isolated (default true); false: always cancel by restarting the worker
 * @property {number} [startTimeoutMs]  how long the worker may take to load the module (default 60000)
 * @property {boolean | "sync"} [readAhead]  a worker of the module worker's own reads large files
 *   ahead for the model's one pass (default true, on cross-origin isolated pages); false: none;
 *   "sync": it reads them with FileReaderSync instead of the File's stream (to compare)
 * @property {number | false} [warmUp]  spans of the made-up database the worker builds models of
 *   once loaded, so that V8 optimises that code before the first file (default 3000; false: none)
 * @property {(event: {reason: "cancel" | "crash", reopening: boolean}) => void} [onWorkerRestart]
 *   called when the worker is replaced (a cancel without isolation, or a crash)
 *
 * @typedef {object} CallOptions
 * @property {AbortSignal} [signal]  aborting it cancels the request
 *
 * @typedef {CallOptions & {
 *   onProgress?: (p: FractionProgress) => (boolean | void),
 *   bytesLimit?: number,
 *   name?: string,
 *   attributes?: "auto" | "memory" | "on-demand",
 *   naiveTz?: string,
 *   options?: object | string,
 * }} OpenOptions
 *   bytesLimit: files of at most this many bytes are copied into wasm memory, larger ones are
 *   read through the VFS (default 256 MiB); onProgress returning false cancels; options: the
 *   core's open options as an object or JSON text (instead of attributes/naiveTz)
 * @typedef {CallOptions & {limit?: number, onProgress?: (p: FractionProgress) => (boolean | void)}} SearchOptions
 * @typedef {CallOptions & {
 *   onChunk?: (bytes: Uint8Array) => void,
 *   onProgress?: (p: CountProgress) => (boolean | void),
 *   chunkBytes?: number,
 * }} ExportOptions
 */

/**
 * A request inside the client (not part of the API).
 * @typedef {object} PendingRequest
 * @property {number} id
 * @property {string} op
 * @property {Record<string, unknown>} params
 * @property {(answer: any) => void} resolve
 * @property {((p: any) => (boolean | void)) | null} onProgress
 * @property {((bytes: Uint8Array) => void) | null} onChunk
 * @property {Uint8Array[]} chunks
 * @property {AbortSignal | null} signal
 * @property {(() => void) | null} onAbort
 * @property {boolean} internal  the reopen after a restart
 * @property {boolean} cancelling
 */

const CANCELLED = 34;
const INTERNAL = 40;
/** Operations whose module call reports progress and can be told to stop through the flag. */
const FLAG_CANCELLABLE = new Set(["open", "search", "export"]);

/**
 * @param {number} code
 * @param {string} name
 * @param {string} message
 * @returns {ErrorAnswer}
 */
function failure(code, name, message) {
  return { ok: false, code, name, message };
}

/** Raised by parseAnswer for a failed answer. */
export class TracedropError extends Error {
  /** @param {ErrorAnswer} answer */
  constructor(answer) {
    super(answer.message);
    this.name = "TracedropError";
    /** @type {number} */
    this.code = answer.code;
    /** @type {string} the core's error name (`not_sqlite`, `cancelled`, `worker_failed`, ...) */
    this.errorName = answer.name;
  }
}

/**
 * The parsed JSON value of an answer; throws TracedropError for a failed one.
 * @param {Answer} answer
 * @returns {any}
 */
export function parseAnswer(answer) {
  if (!answer.ok) throw new TracedropError(/** @type {ErrorAnswer} */ (answer));
  const value = /** @type {OkAnswer} */ (answer).value;
  return value === "" ? null : JSON.parse(value);
}

export class TracedropClient {
  /** @type {ClientOptions} */
  #options;
  /** @type {Worker | null} */
  #worker = null;
  #generation = 0;
  /** @type {"none" | "starting" | "ready"} */
  #state = "none";
  /** @type {Promise<{ok: true} | ErrorAnswer>} */
  #ready = Promise.resolve(failure(INTERNAL, "worker_failed", "not started"));
  /** @type {(answer: {ok: true} | ErrorAnswer) => void} */
  #resolveReady = () => {};
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #startTimer = undefined;
  /** @type {PendingRequest[]} */
  #queue = [];
  /** @type {PendingRequest | null} */
  #inflight = null;
  #nextId = 1;
  /** @type {Int32Array | null} */
  #cancelFlags = null;
  /** @type {Record<string, unknown> | null} the params of the last successful open */
  #lastOpen = null;
  #decoder = new TextDecoder();

  /** @param {ClientOptions} [options] */
  constructor(options = {}) {
    this.#options = { ...options };
    const isolated = typeof globalThis.crossOriginIsolated === "boolean" && globalThis.crossOriginIsolated;
    if (options.sharedCancel !== false && isolated && typeof SharedArrayBuffer === "function") {
      this.#cancelFlags = new Int32Array(new SharedArrayBuffer(4));
    }
    this.#start();
  }

  /**
   * How a running open/search/export is cancelled: "flag" (a SharedArrayBuffer the worker
   * checks, the open file stays open) or "restart" (the worker is replaced and the file reopened).
   * @returns {"flag" | "restart"}
   */
  get cancelMode() {
    return this.#cancelFlags ? "flag" : "restart";
  }

  /**
   * Resolves when the current worker has loaded the module ({ok: true}) or failed to
   * (ErrorAnswer with name `worker_failed` and the reason). After a failure, the next request
   * starts a new worker.
   * `threads`: the worker runs the threaded module; `threadsWhy`: why not (empty when it does,
   * or when threads were turned off).
   * @returns {Promise<{ok: true, threads: boolean, threadsWhy: string} | ErrorAnswer>}
   */
  get ready() {
    return this.#ready;
  }

  /**
   * Opens a dropped File (or a Blob): up to `bytesLimit` bytes copied into wasm memory, larger
   * through the VFS (read on demand with FileReaderSync in the worker). Answers the summary.
   * @param {Blob} file
   * @param {OpenOptions} [opts]
   * @returns {Promise<OpenAnswer>}
   */
  open(file, opts = {}) {
    let options = opts.options;
    if (options === undefined) {
      /** @type {Record<string, string>} */
      const core = {};
      if (opts.attributes !== undefined) core.attributes = opts.attributes;
      if (opts.naiveTz !== undefined) core.naive_tz = opts.naiveTz;
      options = core;
    }
    /** @type {Record<string, unknown>} */
    const params = { file, options };
    if (opts.bytesLimit !== undefined) params.bytesLimit = opts.bytesLimit;
    if (opts.name !== undefined) params.name = opts.name;
    return /** @type {Promise<OpenAnswer>} */ (this.#request("open", params, opts));
  }

  // The requests below without progress take a CallOptions too: cancelling one of them while
  // it runs restarts the worker (and reopens the file), as the module cannot be told to stop.

  /** @param {CallOptions} [opts] @returns {Promise<Answer>} the summary of the open file */
  summary(opts = {}) { return this.#request("summary", {}, opts); }
  /**
   * @param {object | string} [options] {filters, order_by, limit (20; 0 = all), offset} or its JSON text
   * @param {CallOptions} [opts]
   * @returns {Promise<Answer>}
   */
  traceList(options = {}, opts = {}) { return this.#request("traceList", { options }, opts); }
  /**
   * @param {string} traceId id or unique prefix (6+ characters)
   * @param {CallOptions} [opts]
   * @returns {Promise<Answer>}
   */
  traceTree(traceId, opts = {}) { return this.#request("traceTree", { traceId }, opts); }
  /** @param {string} spanId @param {CallOptions} [opts] @returns {Promise<Answer>} */
  span(spanId, opts = {}) { return this.#request("span", { spanId }, opts); }
  /**
   * @param {string} text
   * @param {SearchOptions} [opts] limit: at most this many hits (default 100; 0 = all)
   * @returns {Promise<Answer>}
   */
  search(text, opts = {}) {
    /** @type {Record<string, unknown>} */
    const params = { text };
    if (opts.limit !== undefined) params.limit = opts.limit;
    return this.#request("search", params, opts);
  }
  /** @param {CallOptions} [opts] @returns {Promise<Answer>} */
  stats(opts = {}) { return this.#request("stats", {}, opts); }
  /** @param {string} traceId @param {CallOptions} [opts] @returns {Promise<Answer>} */
  conversation(traceId, opts = {}) { return this.#request("conversation", { traceId }, opts); }
  /** @param {object | string} [request] @param {CallOptions} [opts] @returns {Promise<Answer>} */
  queryTraces(request = {}, opts = {}) { return this.#request("queryTraces", { request }, opts); }
  /** @param {object | string} [request] @param {CallOptions} [opts] @returns {Promise<Answer>} */
  querySpans(request = {}, opts = {}) { return this.#request("querySpans", { request }, opts); }
  /** @param {object | string} request @param {CallOptions} [opts] @returns {Promise<Answer>} */
  queryMetrics(request, opts = {}) { return this.#request("queryMetrics", { request }, opts); }
  /**
   * A read-only SQL statement (cancelling it restarts the worker).
   * @param {string} statement
   * @param {CallOptions & {maxRows?: number}} [opts] maxRows: default 1000; 0 = all
   * @returns {Promise<Answer>}
   */
  sql(statement, opts = {}) {
    /** @type {Record<string, unknown>} */
    const params = { statement };
    if (opts.maxRows !== undefined) params.maxRows = opts.maxRows;
    return this.#request("sql", params, opts);
  }
  /**
   * Streams an export. Chunks (Uint8Array, transferred from the worker) go to onChunk, or are
   * collected into `blob` of the answer.
   * @param {object | string} request {format, gzip, trace_ids, days, since, until, filters, ...}
   * @param {ExportOptions} [opts]
   * @returns {Promise<ExportAnswer>}
   */
  export(request, opts = {}) {
    /** @type {Record<string, unknown>} */
    const params = { request };
    if (opts.chunkBytes !== undefined) params.chunkBytes = opts.chunkBytes;
    return /** @type {Promise<ExportAnswer>} */ (this.#request("export", params, opts));
  }
  /** @returns {Promise<Answer>} VFS counters {reads, block_loads, cache_hits, bytes_loaded} */
  fileStats() { return this.#request("fileStats", {}); }
  /**
   * JSON {threads, started, refused, pool, idle}: the module's kind, the core's helper threads
   * started and refused so far, the threaded module's pool size and its idle workers now.
   */
  threadCounts() { return this.#request("threadCounts", {}); }
  /** Closes the open file (frees its model in the worker). @returns {Promise<Answer>} */
  close() { return this.#request("close", {}); }

  /** Stops the worker; pending requests answer `cancelled`. A later request starts a new one. */
  terminate() {
    const pending = this.#takePending();
    this.#stopWorker();
    this.#lastOpen = null;
    for (const req of pending) this.#finish(req, failure(CANCELLED, "cancelled", "The client was terminated."));
  }

  // ------------------------------------------------------------------ worker lifecycle
  #start() {
    const generation = ++this.#generation;
    this.#state = "starting";
    this.#ready = new Promise((resolve) => { this.#resolveReady = resolve; });
    const workerUrl = this.#options.workerUrl ?? new URL("./worker.mjs", import.meta.url);
    let worker;
    try {
      worker = new Worker(workerUrl, { type: "module" });
    } catch (e) {
      queueMicrotask(() => this.#fail(generation, `The worker could not be started from ${workerUrl} (${describe(e)}).`));
      return;
    }
    this.#worker = worker;
    worker.onmessage = (event) => this.#onMessage(generation, event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      const detail = event.message ? `: ${event.message}` : " (the script could not be loaded: a network error, a missing file or a syntax error)";
      this.#fail(generation, `The tracedrop worker (${workerUrl}) failed${detail}.`);
    };
    worker.onmessageerror = () => this.#fail(generation, "A message from the tracedrop worker could not be read.");
    /** @type {Record<string, unknown>} */
    const init = { type: "init" };
    // Relative to the page, as the worker's own URL is (the worker would resolve it against its URL).
    if (this.#options.moduleUrl !== undefined) init.moduleUrl = new URL(String(this.#options.moduleUrl), globalThis.location?.href).href;
    if (this.#options.threadedModuleUrl !== undefined) {
      init.threadedModuleUrl = new URL(String(this.#options.threadedModuleUrl), globalThis.location?.href).href;
    }
    if (this.#options.threads === false) init.threads = false;
    if (this.#options.jsonTransferMin !== undefined) init.jsonTransferMin = this.#options.jsonTransferMin;
    if (this.#options.vfs !== undefined) init.vfs = this.#options.vfs;
    if (this.#options.readAhead !== undefined) init.readAhead = this.#options.readAhead;
    if (this.#options.warmUp !== undefined) init.warmUp = this.#options.warmUp;
    if (this.#cancelFlags) init.cancelBuffer = this.#cancelFlags.buffer;
    worker.postMessage(init);
    const timeout = this.#options.startTimeoutMs ?? 60000;
    this.#startTimer = setTimeout(() => {
      if (generation === this.#generation && this.#state === "starting") {
        this.#fail(generation, `The tracedrop worker did not load the WebAssembly module within ${Math.round(timeout / 1000)} s.`);
      }
    }, timeout);
  }

  #stopWorker() {
    clearTimeout(this.#startTimer);
    if (this.#worker) this.#worker.terminate();
    this.#worker = null;
    this.#generation++;
    this.#state = "none";
  }

  /**
   * The worker or its module failed: the running request (and, before ready, all) fail.
   * @param {number} generation
   * @param {string} message
   */
  #fail(generation, message) {
    if (generation !== this.#generation) return;
    const wasReady = this.#state === "ready";
    const answer = failure(INTERNAL, "worker_failed", message);
    this.#stopWorker();
    this.#resolveReady(answer);
    const failed = [];
    if (this.#inflight) failed.push(this.#inflight);
    this.#inflight = null;
    if (!wasReady) failed.push(...this.#queue.splice(0)); // the module cannot be loaded: all fail
    for (const req of failed) this.#finish(req, answer);
    if (wasReady) this.#restarted("crash");
    this.#pump();
  }

  /**
   * A new worker will serve the queue; the file that was open is reopened first.
   * @param {"cancel" | "crash"} reason
   */
  #restarted(reason) {
    const reopen = this.#lastOpen;
    if (reopen) this.#queue.unshift(this.#newRequest("open", reopen, {}, () => {}, true));
    if (this.#options.onWorkerRestart) this.#options.onWorkerRestart({ reason, reopening: reopen !== null });
  }

  /**
   * @param {number} generation
   * @param {any} data
   */
  #onMessage(generation, data) {
    if (generation !== this.#generation || !data || typeof data !== "object") return;
    switch (data.type) {
      case "ready":
        clearTimeout(this.#startTimer);
        this.#state = "ready";
        this.#resolveReady({ ok: true, threads: data.threads === true, threadsWhy: String(data.threadsWhy || "") });
        this.#pump();
        return;
      case "fatal":
        this.#fail(generation, data.message);
        return;
      case "progress": {
        const req = this.#inflight;
        if (!req || req.id !== data.id || !req.onProgress) return;
        const info = data.fraction !== undefined ? { fraction: data.fraction } : { done: data.done, total: data.total };
        if (req.onProgress(info) === false) this.#cancel(req);
        return;
      }
      case "chunk": {
        const req = this.#inflight;
        if (!req || req.id !== data.id) return;
        if (req.onChunk) req.onChunk(data.bytes);
        else req.chunks.push(data.bytes);
        return;
      }
      case "result": {
        const req = this.#inflight;
        if (!req || req.id !== data.id) return;
        this.#inflight = null;
        this.#finish(req, this.#answerOf(req, data));
        this.#pump();
        return;
      }
      default:
    }
  }

  /**
   * @param {PendingRequest} req
   * @param {any} data a result message
   * @returns {Answer & {via?: string, blob?: Blob}}
   */
  #answerOf(req, data) {
    if (!data.ok) return failure(data.code, data.name, data.message);
    /** @type {string} */
    const value = data.bytes !== undefined ? this.#decoder.decode(data.bytes) : data.value;
    /** @type {OkAnswer & {via?: string, blob?: Blob}} */
    const answer = { ok: true, value };
    if (req.op === "open") {
      answer.via = data.via;
      if (data.readAhead !== undefined) answer.readAhead = data.readAhead;
      if (data.readAheadWith !== undefined) answer.readAheadWith = data.readAheadWith;
      this.#lastOpen = req.params;
    }
    if (req.op === "export" && !req.onChunk) {
      const summary = JSON.parse(value);
      const type = summary.gzip ? "application/gzip" : summary.format === "otlp-jsonl" ? "application/x-ndjson" : "application/json";
      answer.blob = new Blob(/** @type {BlobPart[]} */ (req.chunks), { type });
      req.chunks = [];
    }
    return answer;
  }

  // ------------------------------------------------------------------ requests
  /**
   * @param {string} op
   * @param {Record<string, unknown>} params
   * @param {{signal?: AbortSignal, onProgress?: (p: any) => (boolean | void), onChunk?: (bytes: Uint8Array) => void}} opts
   * @param {(answer: any) => void} resolve
   * @param {boolean} [internal]
   * @returns {PendingRequest}
   */
  #newRequest(op, params, opts, resolve, internal = false) {
    return {
      id: this.#nextId++,
      op,
      params,
      resolve,
      onProgress: typeof opts.onProgress === "function" ? opts.onProgress : null,
      onChunk: typeof opts.onChunk === "function" ? opts.onChunk : null,
      chunks: [],
      signal: opts.signal || null,
      onAbort: null,
      internal,
      cancelling: false,
    };
  }

  /**
   * @param {string} op
   * @param {Record<string, unknown>} params
   * @param {{signal?: AbortSignal, onProgress?: (p: any) => (boolean | void), onChunk?: (bytes: Uint8Array) => void}} [opts]
   * @returns {Promise<Answer>}
   */
  #request(op, params, opts = {}) {
    return new Promise((resolve) => {
      const req = this.#newRequest(op, params, opts, resolve);
      if (req.signal) {
        if (req.signal.aborted) {
          resolve(failure(CANCELLED, "cancelled", "Cancelled before it started."));
          return;
        }
        req.onAbort = () => this.#cancel(req);
        req.signal.addEventListener("abort", req.onAbort);
      }
      this.#queue.push(req);
      this.#pump();
    });
  }

  #pump() {
    if (this.#inflight || this.#queue.length === 0) return;
    if (this.#state === "none") this.#start();
    if (this.#state !== "ready") return; // "ready" or a failure pumps again
    const req = /** @type {PendingRequest} */ (this.#queue.shift());
    // Opening (or closing) replaces the worker's file: there is nothing to reopen until it succeeds.
    if (req.op === "open" || req.op === "close") this.#lastOpen = null;
    this.#inflight = req;
    try {
      /** @type {Worker} */ (this.#worker).postMessage({ type: "request", id: req.id, op: req.op, params: req.params });
    } catch (e) {
      this.#inflight = null;
      this.#finish(req, failure(30, "invalid_argument", `${req.op}: the request cannot be sent to the worker (${describe(e)}).`));
      this.#pump();
    }
  }

  /** @param {PendingRequest} req */
  #cancel(req) {
    const queued = this.#queue.indexOf(req);
    if (queued >= 0) {
      this.#queue.splice(queued, 1);
      this.#finish(req, failure(CANCELLED, "cancelled", "Cancelled before it started."));
      return;
    }
    if (this.#inflight !== req || req.cancelling) return;
    req.cancelling = true;
    if (this.#cancelFlags && FLAG_CANCELLABLE.has(req.op)) {
      // The worker's progress callback sees the id and the core answers `cancelled`.
      Atomics.store(this.#cancelFlags, 0, req.id);
      return;
    }
    // The worker is busy in a synchronous call and cannot be told: replace it.
    this.#inflight = null;
    this.#stopWorker();
    this.#restarted("cancel");
    const reopening = this.#queue.length > 0 && this.#queue[0].internal;
    this.#finish(req, failure(CANCELLED, "cancelled",
      `Cancelled: the worker was stopped and a new one started${reopening ? "; the file is being reopened" : ""}.`));
    this.#pump();
  }

  #takePending() {
    const pending = this.#queue.splice(0);
    if (this.#inflight) pending.unshift(this.#inflight);
    this.#inflight = null;
    return pending;
  }

  /**
   * @param {PendingRequest} req
   * @param {Answer} answer
   */
  #finish(req, answer) {
    if (req.signal && req.onAbort) req.signal.removeEventListener("abort", req.onAbort);
    // A failed reopen after a restart (req.internal) leaves no file open: later requests get
    // the module's "no database is open" answer.
    req.resolve(answer);
  }
}

/** @param {unknown} e */
function describe(e) {
  return e instanceof Error ? e.message : String(e);
}
