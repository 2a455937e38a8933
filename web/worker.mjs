// The module worker that owns tracedrop's WebAssembly module and one open database. The page
// talks to it through web/client.mjs; the protocol (web/README.md) is:
//
//   page -> worker
//     {type: "init", moduleUrl?, threadedModuleUrl?, threads?, cancelBuffer?, jsonTransferMin?, vfs?,
//      readAhead?, warmUp?}                   once, first (readAhead: false, or "sync": FileReaderSync, not
//                                             the File's stream; threads: false, or "auto": the threaded module
//                                             (threadedModuleUrl, default tracedrop_mt.js beside moduleUrl)
//                                             where the page is cross-origin isolated)
//     {type: "request", id, op, params}                                        id: integer > 0
//   worker -> page
//     {type: "ready", cancellable, readAhead, threads, threadsWhy}
//                                             the module is loaded (cancellable: a SharedArrayBuffer flag is in use;
//                                             readAhead: files are read ahead by a worker of its own;
//                                             threads: the threaded module runs; threadsWhy: why not, if asked for)
//     {type: "fatal", message}                the module could not be loaded, or failed (then the
//                                             running request's result follows: worker_failed); start a new worker
//     {type: "progress", id, fraction}        open, search (0..1)
//     {type: "progress", id, done, total}     export (traces)
//     {type: "chunk", id, bytes}              export bytes (Uint8Array, its buffer transferred)
//     {type: "result", id, ok: true, value}   value: JSON text (the CLI's --json bytes); an open
//                                             adds via ("bytes"|"vfs"), readAhead (slices the slice reader
//                                             served) and readAheadWith ("stream"|"sync"|"": how they were read)
//     {type: "result", id, ok: true, bytes}   the same JSON text as UTF-8 bytes (buffer transferred),
//                                             for answers longer than jsonTransferMin characters
//     {type: "result", id, ok: false, code, name, message}   the module's error, unchanged
//
// Requests are answered in the order they arrive, one at a time: every module call is
// synchronous. Cancelling a running open/search/export: the page writes the request's id
// into cancelBuffer (Int32Array slot 0, a SharedArrayBuffer: needs cross-origin isolation);
// the progress callback sees it and returns false, and the core answers `cancelled`. Without
// a SharedArrayBuffer the page terminates the worker instead (client.mjs does).
import { BYTES_LIMIT, idleThreads, loadBestTracedrop, Session, SliceReader, startThreads, stopIdleThreads } from "../wasm/js/tracedrop.mjs";

/** Answers longer than this many characters travel as transferred UTF-8 bytes. */
const DEFAULT_JSON_TRANSFER_MIN = 64 * 1024;
/** The warm-up after init: a database of this many spans, its models built this many times. */
const WARM_UP_SPANS = 3000;
const WARM_UP_ROUNDS = 6;
/** Progress messages are sent at most this often (the first and the last always). */
const PROGRESS_INTERVAL_MS = 50;
const CANCELLED = 34; // ErrorCode::kCancelled
const INVALID_ARGUMENT = 30; // ErrorCode::kInvalidArgument
const INTERNAL = 40; // ErrorCode::kInternal

let module = null;
let session = null;
let sliceReader = null; // reads a large File ahead while the model is built (cross-origin isolated pages)
let readAheadStream = true; // init readAhead: "sync" reads with FileReaderSync instead of the File's stream
let cancelFlags = null;
let jsonTransferMin = DEFAULT_JSON_TRANSFER_MIN;
let initialised = null; // the promise of the module's load, after the init message
let failed = ""; // set once the module failed: every later request answers it
let queue = Promise.resolve();
const encoder = new TextEncoder();

// Looked up at every call (not captured) so that a wrapper of self.postMessage sees it all.
const post = (message, transfer) => self.postMessage(message, transfer || []);

const isCancelled = (id) => cancelFlags !== null && Atomics.load(cancelFlags, 0) === id;

function errorAnswer(code, name, message) {
  return { ok: false, code, name, message };
}

/** Progress callback for the module: throttled messages, and `false` once cancelled. */
function progressReporter(id, shape) {
  let last = -Infinity;
  return (a, b) => {
    if (isCancelled(id)) return false;
    const now = performance.now();
    const final = shape === "fraction" ? a >= 1 : a >= b;
    if (final || now - last >= PROGRESS_INTERVAL_MS) {
      last = now;
      post(shape === "fraction" ? { type: "progress", id, fraction: a } : { type: "progress", id, done: a, total: b });
    }
    return true;
  };
}

function needSession() {
  if (session === null) session = new Session(module);
  return session;
}

/** A malformed request (a parameter of the wrong type): answered before the module is called. */
class RequestError extends Error {}

const str = (value, what) => {
  if (typeof value !== "string") throw new RequestError(`${what} must be a string`);
  return value;
};
const num = (value, what, fallback) => {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value)) throw new RequestError(`${what} must be a number`);
  return value;
};
const json = (value, what) => {
  if (value === undefined || value === null) return {};
  if (typeof value !== "string" && typeof value !== "object") throw new RequestError(`${what} must be an object or JSON text`);
  return value;
};

/**
 * How an open request will read its file: {file, options, onePass} where onePass is true for
 * the VFS's one pass, false for the VFS through SQLite and null for the bytes path; null when
 * the request is not an open of a Blob or its options are malformed (the open itself answers).
 */
function openPlan(data) {
  const p = data.params || {};
  const file = p.file;
  if (data.op !== "open" || typeof Blob === "undefined" || !(file instanceof Blob)) return null;
  let options = p.options && typeof p.options === "object" ? p.options : {};
  if (typeof p.options === "string") {
    try {
      options = JSON.parse(p.options) || {};
    } catch {
      return null;
    }
  }
  const limit = typeof p.bytesLimit === "number" ? p.bytesLimit : BYTES_LIMIT;
  return { file, options, onePass: file.size <= limit ? null : options.one_pass !== false };
}

/**
 * Before an open that will read the whole file (as bytes, or through the VFS in one pass): the
 * slice reader started on it (it only gets the file while this worker's event loop runs, not
 * during the open itself).
 */
async function readAheadFor(plan) {
  if (sliceReader === null || plan === null || plan.onePass === false) return null;
  const mib = Number.isInteger(plan.options.slice_mib) && plan.options.slice_mib > 0 ? plan.options.slice_mib : 0;
  return sliceReader.source(plan.file, { stream: readAheadStream, ...(mib ? { sliceBytes: mib * 1048576 } : {}) });
}

/** Runs one request on the module; answers {ok, ...} as the module does (plus `via` for open). */
function run(id, op, params, ahead) {
  const p = params || {};
  const s = needSession();
  switch (op) {
    case "open": {
      const file = p.file;
      if (typeof Blob === "undefined" || !(file instanceof Blob)) {
        return errorAnswer(INVALID_ARGUMENT, "invalid_argument", "open needs a File (or a Blob) to read.");
      }
      // Reading a large file into memory takes a while: a cancel that came first stops here.
      if (isCancelled(id)) return errorAnswer(CANCELLED, "cancelled", "Loading was cancelled.");
      const limit = num(p.bytesLimit, "bytesLimit", BYTES_LIMIT);
      const name = p.name ? str(p.name, "name") : file.name || "trace_store.db";
      const answer = s.openDropped(file, json(p.options, "options"), progressReporter(id, "fraction"), limit, name, ahead);
      if (!answer.ok) return answer;
      return { ...answer, via: s.openedVia, readAhead: s.slicesReadAhead, readAheadWith: s.slicesReadWith };
    }
    case "summary": return s.summary();
    case "traceList": return s.traceList(json(p.options, "options"));
    case "traceTree": return s.traceTree(str(p.traceId, "traceId"));
    case "span": return s.span(str(p.spanId, "spanId"));
    case "search":
      return s.search(str(p.text, "text"), num(p.limit, "limit", 100), progressReporter(id, "fraction"));
    case "stats": return s.stats();
    case "conversation": return s.conversation(str(p.traceId, "traceId"));
    case "queryTraces": return s.queryTraces(json(p.request, "request"));
    case "querySpans": return s.querySpans(json(p.request, "request"));
    case "queryMetrics": return s.queryMetrics(json(p.request, "request"));
    case "sql": return s.sql(str(p.statement, "statement"), num(p.maxRows, "maxRows", 1000));
    case "export": {
      const onChunk = (bytes) => post({ type: "chunk", id, bytes }, [bytes.buffer]);
      const chunkBytes = num(p.chunkBytes, "chunkBytes", 1 << 20);
      return s.exportTraces(json(p.request, "request"), onChunk, progressReporter(id, "count"), chunkBytes);
    }
    case "fileStats": return { ok: true, value: JSON.stringify(s.fileStats()) };
    case "threadCounts": {
      return { ok: true, value: JSON.stringify({ ...module.threadCounts(), pool: module.threadPool, idle: idleThreads(module) }) };
    }
    case "close":
      s.close();
      return { ok: true, value: "" };
    default:
      return errorAnswer(INVALID_ARGUMENT, "invalid_argument", `unknown operation "${op}"`);
  }
}

function answer(id, result) {
  if (!result.ok) {
    post({ type: "result", id, ok: false, code: result.code, name: result.name, message: result.message });
    return;
  }
  const extra = result.via ? { via: result.via } : {};
  if (result.readAhead !== undefined) extra.readAhead = result.readAhead;
  if (result.readAheadWith !== undefined) extra.readAheadWith = result.readAheadWith;
  const value = result.value;
  if (typeof value === "string" && value.length > jsonTransferMin) {
    const bytes = encoder.encode(value);
    post({ type: "result", id, ok: true, bytes, ...extra }, [bytes.buffer]);
  } else {
    post({ type: "result", id, ok: true, value, ...extra });
  }
}

/**
 * The threaded module's pool of workers: stopped for an open through the VFS in one pass (the
 * pass has no threads, and the workers' memory counts against a large file's peak), started
 * again (and awaited) before another open or an export, which use them.
 */
async function poolFor(op, plan) {
  if (!module || !module.threads) return;
  if (plan !== null && plan.onePass === true) stopIdleThreads(module);
  else if (op === "open" || op === "export") await startThreads(module);
}

async function handleRequest(data) {
  const id = data.id;
  if (failed) {
    answer(id, errorAnswer(INTERNAL, "worker_failed", failed));
    return;
  }
  const plan = openPlan(data);  // one reading of an open's options for both
  await poolFor(data.op, plan).catch(() => {});
  const ahead = await readAheadFor(plan).catch(() => null);
  let result;
  try {
    result = run(id, data.op, data.params, ahead);
    if (ahead && ahead.stopReadingAhead) ahead.stopReadingAhead();  // an open that did not use it
  } catch (e) {
    if (ahead && ahead.stopReadingAhead) ahead.stopReadingAhead();
    if (e instanceof RequestError) {
      answer(id, errorAnswer(INVALID_ARGUMENT, "invalid_argument", `${data.op}: ${e.message}`));
      return;
    }
    // The module never throws by design (every answer is {ok, ...}): an exception means it
    // aborted (a trap, a failed assertion) and its state cannot be trusted any more.
    // "fatal" first: the client replaces this worker before it could send it another request.
    failed = `The WebAssembly module failed during ${data.op} (${describe(e)}) and was stopped.`;
    post({ type: "fatal", message: failed });
    answer(id, errorAnswer(INTERNAL, "worker_failed", failed));
    return;
  }
  answer(id, result);
}

function describe(e) {
  if (e && typeof e === "object") return `${e.name || "Error"}: ${e.message || String(e)}`;
  return String(e);
}

function init(data) {
  if (typeof SharedArrayBuffer === "function" && data.cancelBuffer instanceof SharedArrayBuffer) {
    cancelFlags = new Int32Array(data.cancelBuffer);
  }
  if (typeof data.jsonTransferMin === "number") jsonTransferMin = data.jsonTransferMin;
  const here = self.location.href;
  const options = {
    ...(data.moduleUrl ? { moduleUrl: new URL(data.moduleUrl, here) } : {}),
    ...(data.threadedModuleUrl ? { threadedModuleUrl: new URL(data.threadedModuleUrl, here) } : {}),
    threads: data.threads === false ? false : "auto",
  };
  // Started now, alongside the module: it can only start while this worker's event loop runs.
  const reader = data.readAhead === false ? Promise.resolve(null) : SliceReader.start().catch(() => null);
  readAheadStream = data.readAhead !== "sync";
  initialised = Promise.all([loadBestTracedrop(options), reader]).then(
    ([best, r]) => {
      const td = best.module;
      module = td;
      sliceReader = r;
      if (data.vfs) {
        const v = td.setVfsConfig(data.vfs.blockSize, data.vfs.cacheBytes);
        if (!v.ok) throw new Error(`VFS configuration: ${v.message}`);
      }
      post({ type: "ready", cancellable: cancelFlags !== null, readAhead: sliceReader !== null, threads: td.threads, threadsWhy: best.why });
      // Before any request: V8 optimises the model build's code while it runs on a made-up
      // database (wasm/src/warm_up.h), not while the first large file is opened (about a second
      // of the worker's time now, about a second less for the first open of a large file).
      if (data.warmUp !== false) {
        const spans = typeof data.warmUp === "number" ? data.warmUp : WARM_UP_SPANS;
        queue = queue.then(() => {
          try {
            if (spans > 0) td.warmUp(spans, WARM_UP_ROUNDS);
          } catch {
            // Only a speed-up: a module that fails here fails again, with its message, on the first request.
          }
        });
      }
    },
    (e) => {
      throw new Error(`The WebAssembly module could not be loaded from ${options.moduleUrl ?? "its default place"} (${describe(e)}).`);
    },
  ).catch((e) => {
    failed = e.message;
    post({ type: "fatal", message: failed });
  });
}

self.onmessage = (event) => {
  const data = event.data;
  if (!data || typeof data !== "object") return;
  if (data.type === "init") {
    if (initialised === null) init(data);
    return;
  }
  if (data.type !== "request") return; // not ours (a wrapper's message, say)
  if (initialised === null) {
    post({ type: "result", id: data.id, ...errorAnswer(INTERNAL, "worker_failed", "The worker got a request before its init message.") });
    return;
  }
  queue = queue.then(() => initialised).then(() => handleRequest(data));
};
