// Loads the tracedrop WebAssembly module in Node or in a (classic or module) Web Worker, and
// holds the JS half of the file VFS: a registry id -> {size, read(offset, length)}.
//
//   import { loadTracedrop, Session, BYTES_LIMIT } from "./tracedrop.mjs";
//   const td = await loadTracedrop({ moduleUrl: new URL("tracedrop.js", import.meta.url) });
//   const session = new Session(td);
//   const opened = session.openDropped(file);            // in a worker: a File from a drop
//   if (!opened.ok) show(opened.message); else render(JSON.parse(session.traceList({}).value));
//
// Every call answers {ok: true, value} or {ok: false, code, name, message}; value is JSON text
// (the CLI's --json bytes) except for export (a summary; the bytes go to the chunk callback).
// Options and requests are objects, or JSON text passed on unchanged.

/** Files up to this size are copied into wasm memory; larger ones are read on demand. */
export const BYTES_LIMIT = 256 * 1024 * 1024;

import { CTRL_INTS, LENGTH, SLICE, STATE, STOP } from "./slice_slots.mjs";

/** tracedrop.js where the wasm build puts it, when no moduleUrl is given. */
const DEFAULT_MODULE_URL = new URL("../../build/wasm/wasm/tracedrop.js", import.meta.url);

const isNode = typeof process === "object" && process.versions != null && process.versions.node != null;

/**
 * Loads a module: tracedrop.js (single-threaded) or tracedrop_mt.js (threads: shared memory and
 * a pool of workers, tracedrop_mt.worker.js beside it; see canUseThreads). Its `.wasm` is found
 * beside it. The loaded module's `threads` says which it is.
 * @param {{moduleUrl?: string|URL, wasmBinary?: Uint8Array, factory?: Function}} [options]
 * @returns {Promise<object>} the instantiated Emscripten module
 */
export async function loadTracedrop(options = {}) {
  const moduleUrl = options.moduleUrl ?? DEFAULT_MODULE_URL;
  let factory = options.factory;
  let wasmBinary = options.wasmBinary;
  // Where the threaded module's workers load the module's script from (when it is not a file
  // Node required, or a script of the page, it cannot be found otherwise).
  let mainScript = String(moduleUrl);
  if (isNode) {
    const { createRequire } = await import("node:module");
    const { readFileSync } = await import("node:fs");
    const { fileURLToPath } = await import("node:url");
    const path = moduleUrl instanceof URL ? fileURLToPath(moduleUrl) : String(moduleUrl);
    mainScript = path;
    factory ??= createRequire(import.meta.url)(path);
    // Node's global fetch cannot read a file path: hand the bytes over instead.
    wasmBinary ??= readFileSync(path.replace(/\.js$/, ".wasm"));
  } else if (!factory) {
    factory = await browserFactory(String(moduleUrl));
  }
  const init = { mainScriptUrlOrBlob: mainScript };
  if (wasmBinary) init.wasmBinary = wasmBinary;
  else init.locateFile = (file) => new URL(file, moduleUrl).href;
  const module = await factory(init);
  module.threads = typeof module.PThread === "object" && module.PThread !== null;
  /** Workers in the threaded module's pool when it loaded (its most threads at once); 0 without threads. */
  module.threadPool = idleThreads(module);
  if (isNode && module.threads) {
    // The pool's idle workers would keep Node running after the script's last line.
    for (const w of module.PThread.unusedWorkers) if (typeof w.unref === "function") w.unref();
  }
  return module;
}

/** Threaded module: the pool's workers idle now (0 without threads). */
export function idleThreads(module) {
  return module.threads ? module.PThread.unusedWorkers.length : 0;
}

/**
 * Threaded module: stops the pool's idle workers (each a worker with a JavaScript heap of its
 * own: about 3 MiB each in Chromium) while the work needs no threads, e.g. a large file read
 * through the VFS in one pass. Threads wanted meanwhile are refused and their work is done on
 * the calling thread (same results). Answers how many workers were stopped. (This,
 * idleThreads and startThreads use the pool of Emscripten 3.1.6's runtime, `PThread`.)
 */
export function stopIdleThreads(module) {
  if (!module.threads) return 0;
  const idle = module.PThread.unusedWorkers.splice(0);
  for (const w of idle) w.terminate();
  return idle.length;
}

/**
 * Threaded module: starts workers until the pool has its size again (module.threadPool) and
 * resolves once they have loaded the module (false if they did not within `timeoutMs`: the
 * threads are then refused until they have). Nothing to do when the pool is whole.
 */
export async function startThreads(module, timeoutMs = 10000) {
  if (!module.threads) return true;
  const P = module.PThread;
  const loads = [];
  try {
    while (P.unusedWorkers.length + P.runningWorkers.length < module.threadPool) {
      P.allocateUnusedWorker();
      const w = P.unusedWorkers[P.unusedWorkers.length - 1];
      loads.push(new Promise((resolve) => P.loadWasmModuleToWorker(w, resolve)));
      // After its listeners are on (Node refs a worker's port when one is added).
      if (isNode && typeof w.unref === "function") w.unref();
    }
  } catch {
    return false;  // no worker to be had (the page's limits): threads are refused
  }
  if (!loads.length) return true;
  let timer;
  const late = new Promise((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs); });
  return Promise.race([Promise.all(loads).then(() => true), late]).finally(() => clearTimeout(timer));
}

/**
 * Whether this context can run the threaded module: WebAssembly shared memory (in a browser
 * only on a cross-origin isolated page: COOP same-origin + COEP require-corp) and workers.
 */
export function canUseThreads() {
  if (typeof SharedArrayBuffer !== "function" || typeof Atomics !== "object") return false;
  if (!isNode && (globalThis.crossOriginIsolated !== true || typeof Worker !== "function")) return false;
  try {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return memory.buffer instanceof SharedArrayBuffer;
  } catch {
    return false;
  }
}

/**
 * The threaded module beside a single-threaded one: tracedrop_mt.js in the same directory.
 * `moduleUrl`: a URL, a URL relative to the page (browser) or a file path (Node).
 */
export function threadedModuleUrl(moduleUrl) {
  if (typeof moduleUrl === "string" && !/^[a-z][a-z0-9+.-]*:/i.test(moduleUrl)) {
    if (isNode) return moduleUrl.replace(/[^/\\]*$/, "tracedrop_mt.js");
    return new URL("tracedrop_mt.js", new URL(moduleUrl, globalThis.location.href));
  }
  return new URL("tracedrop_mt.js", moduleUrl);
}

/**
 * Loads the threaded module (`threadedModuleUrl`, by default tracedrop_mt.js beside
 * `moduleUrl`) where this context can run it (canUseThreads) and `threads` allows ("auto":
 * where it can; false: never), else the single-threaded one (`moduleUrl`). A threaded module
 * that does not load (files missing, its workers not starting within `timeoutMs`) is given up
 * for the single-threaded one. Answers {module, why}: `why` says, when module.threads is
 * false, why (empty when threads were not asked for).
 */
export async function loadBestTracedrop({ moduleUrl, threadedModuleUrl: threadedUrl, threads = "auto", timeoutMs = 30000 } = {}) {
  const single = moduleUrl ?? DEFAULT_MODULE_URL;
  let why = "";
  if (threads !== false) {
    if (!canUseThreads()) {
      why = isNode
        ? "this Node has no WebAssembly shared memory"
        : "the page is not cross-origin isolated (it needs the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)";
    } else {
      const url = threadedUrl ?? threadedModuleUrl(single);
      try {
        if (!isNode) {
          // Its workers' script: without it the pool never starts (and the load never ends).
          const workerJs = new URL("tracedrop_mt.worker.js", new URL(String(url), globalThis.location?.href));
          const response = await fetch(workerJs);
          if (!response.ok) throw new Error(`${workerJs}: HTTP ${response.status} ${response.statusText}`);
        }
        let timer;
        const timeout = new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`its workers did not start within ${timeoutMs} ms`)), timeoutMs);
        });
        const module = await Promise.race([loadTracedrop({ moduleUrl: url }), timeout]).finally(() => clearTimeout(timer));
        return { module, why: "" };
      } catch (e) {
        why = `the threaded module could not be loaded (${e && e.message ? e.message : String(e)})`;
      }
    }
  }
  return { module: await loadTracedrop({ moduleUrl: single }), why };
}

async function browserFactory(url) {
  // Each script defines the global createTracedrop: taken right after that script ran, so
  // that the threaded and the single-threaded module can both be loaded in one worker.
  if (typeof importScripts === "function") {
    try {
      importScripts(url); // classic worker
      return globalThis.createTracedrop;
    } catch (e) {
      // A module worker cannot importScripts: evaluate the script text instead.
    }
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${response.statusText}`);
  const text = await response.text();
  return new Function(`${text}\nreturn createTracedrop;`)();
}

/** A file source over a browser File, for use inside a worker (FileReaderSync is worker-only). */
export function fileReaderSource(file) {
  const reader = new FileReaderSync();
  return {
    size: file.size,
    read(offset, length) {
      return new Uint8Array(reader.readAsArrayBuffer(file.slice(offset, offset + length)));
    },
  };
}

/** Slices in which Session.openCopied reads a file into wasm memory. */
export const COPY_SLICE_BYTES = 16 * 1024 * 1024;

/** The module's memory as bytes, through a view of its current buffer. */
function heapBytes(module) {
  const memory = module.wasmMemory;  // exported by the threaded module, where memory can grow on other threads
  return memory && memory.buffer !== module.HEAPU8.buffer ? new Uint8Array(memory.buffer) : module.HEAPU8;
}

/** The slices the core's one pass reads (LoadOptions::read_slice_bytes, open option slice_mib). */
export const SLICE_BYTES = 1 * 1024 * 1024;

/**
 * A worker that reads Files ahead for the model's one pass (slice_reader_worker.mjs), so that
 * reading the File and building the model overlap instead of taking turns. Start it before
 * opening (`await SliceReader.start()`: a worker's own worker only gets going while its parent's
 * event loop runs, and the open is one synchronous call), then pass `await reader.source(file)`
 * to `Session.openDropped` as its `aheadSource`. Needs cross-origin isolation
 * (SharedArrayBuffer); start() answers null where it cannot run.
 */
export class SliceReader {
  #worker;
  #jobs = 0;
  #waiting = new Map();  // job -> resolve, until the worker says it started it

  constructor(worker) {
    this.#worker = worker;
    worker.onmessage = (e) => {
      const resolve = e.data && e.data.type === "started" ? this.#waiting.get(e.data.job) : undefined;
      if (resolve) resolve(e.data);
    };
  }

  /** @returns {Promise<SliceReader | null>} */
  static async start(workerUrl = new URL("./slice_reader_worker.mjs", import.meta.url), timeoutMs = 5000) {
    if (typeof SharedArrayBuffer !== "function" || globalThis.crossOriginIsolated !== true || typeof Worker !== "function") {
      return null;
    }
    let worker;
    try {
      worker = new Worker(workerUrl, { type: "module" });
    } catch {
      return null;
    }
    const ready = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      worker.onmessage = (e) => { clearTimeout(timer); resolve(e.data && e.data.type === "ready"); };
      worker.onerror = () => { clearTimeout(timer); resolve(false); };
    });
    if (!ready) {
      worker.terminate();
      return null;
    }
    return new SliceReader(worker);
  }

  /**
   * Resolves to fileReaderSource(file) plus readSlice(offset, length) for the one pass: slices
   * of `sliceBytes` from the start, read ahead by the worker into `slots` places of a
   * SharedArrayBuffer (once the worker has started on them: await it before the open). A read
   * that is not the next slice the worker holds (or one it failed to read) is read here, as
   * fileReaderSource does (and fails with its error). stopReadingAhead() (also close()) ends
   * the job; SQLite's later reads are small and need none of it. The worker reads the File as
   * a stream into a buffer it reuses (`readWith: "stream"`), or, where it cannot or with
   * `stream: false`, with FileReaderSync (`"sync"`: a new buffer per slice, left to the
   * garbage collector).
   */
  async source(file, { sliceBytes = SLICE_BYTES, slots = 2, timeoutMs = 5000, stream = true } = {}) {
    const base = fileReaderSource(file);
    if (file.size <= sliceBytes || slots < 1) return base;
    const ctrl = new Int32Array(new SharedArrayBuffer(CTRL_INTS * 4));
    let data = new SharedArrayBuffer(slots * sliceBytes);
    const job = ++this.#jobs;
    const started = new Promise((resolve) => {
      this.#waiting.set(job, resolve);
      setTimeout(() => resolve(false), timeoutMs);
    });
    this.#worker.postMessage({ job, file, data, ctrl: ctrl.buffer, sliceBytes, slots, stream });
    const ok = await started;
    this.#waiting.delete(job);
    if (!ok) {
      Atomics.store(ctrl, STOP, 1);
      return base;
    }
    let held = -1;  // the slot whose bytes the last readSlice handed out
    let served = 0;
    let stopped = false;
    const stop = () => {
      if (stopped) return;
      stopped = true;
      Atomics.store(ctrl, STOP, 1);
      for (let i = 0; i < slots; i++) Atomics.notify(ctrl, STATE + i);
      data = null;
    };
    const release = () => {
      if (held < 0) return;
      Atomics.store(ctrl, STATE + held, 0);
      Atomics.notify(ctrl, STATE + held);
      held = -1;
    };
    return {
      size: base.size,
      sliceBytes,
      readWith: ok.how,
      read(offset, length) {
        return base.read(offset, length);
      },
      readSlice(offset, length) {
        release();
        const k = offset / sliceBytes;
        if (stopped || !Number.isInteger(k) || length !== Math.min(sliceBytes, file.size - offset)) {
          stop();
          return base.read(offset, length);
        }
        const slot = k % slots;
        const deadline = performance.now() + 30000;
        for (;;) {
          const state = Atomics.load(ctrl, STATE + slot);
          const which = Atomics.load(ctrl, SLICE + slot);
          if (state === 1 && which === k && Atomics.load(ctrl, LENGTH + slot) === length) break;
          // The worker's read failed (this read meets the error and says why), the slot holds
          // something else, or nothing comes: read it here.
          if (state === 2 || state === 1 || performance.now() > deadline) {
            stop();
            return base.read(offset, length);
          }
          Atomics.wait(ctrl, STATE + slot, state, 100);
        }
        held = slot;  // handed back at the next readSlice, once the module has copied the bytes
        served++;
        return new Uint8Array(data, slot * sliceBytes, length);
      },
      /** Slices handed out from the worker's reads. */
      get served() {
        return served;
      },
      stopReadingAhead: stop,
      close: stop,
    };
  }

  terminate() {
    this.#worker.terminate();
  }
}

/** A file source over a path in Node; like a browser File, it fails once the file changed. */
export async function nodeFileSource(path) {
  const fs = await import("node:fs");
  const fd = fs.openSync(path, "r");
  const first = fs.fstatSync(fd);
  const check = () => {
    let now;
    try {
      now = fs.statSync(path);
    } catch {
      throw Object.assign(new Error("the file was not found"), { name: "NotFoundError" });
    }
    if (now.size !== first.size || now.mtimeMs !== first.mtimeMs || now.ino !== first.ino) {
      throw Object.assign(new Error("the file was modified"), { name: "NotReadableError" });
    }
  };
  return {
    size: first.size,
    read(offset, length) {
      check();
      const out = new Uint8Array(length);
      const n = fs.readSync(fd, out, 0, length, offset);
      return n === length ? out : out.subarray(0, n);
    },
    /** Reads into `target` (a view of wasm memory, for Session.openCopied); answers the count read. */
    readInto(offset, length, target) {
      check();
      return fs.readSync(fd, target, 0, length, offset);
    },
    close() {
      fs.closeSync(fd);
    },
  };
}

let nextFileId = 1;

/** One open database in the module: a thin layer over the Embind Session. */
export class Session {
  constructor(module) {
    this.module = module;
    this.native = new module.Session();
    this.fileId = 0;
    /** How the last openDropped read the file: "bytes", "vfs" or "" (not through openDropped). */
    this.openedVia = "";
    /** Slices of the last openDropped (or openCopied) that its aheadSource's worker had read ahead. */
    this.slicesReadAhead = 0;
    /** How its aheadSource's worker read the File: "stream", "sync" or "" (none). */
    this.slicesReadWith = "";
    /**
     * Milliseconds the last openCopied spent writing slices into wasm memory (0 when the source
     * read straight into it): the first write to each fresh page of that memory is a page fault.
     */
    this.copyMs = 0;
  }

  /** @param {Uint8Array} bytes */
  openBytes(bytes, name, options = {}, onProgress = undefined) {
    this.#forgetFile();
    return this.native.openBytes(bytes, name, jsonText(options), onProgress);
  }

  /**
   * Reads a whole source into wasm memory and opens it as bytes (as openBytes), without a copy
   * of the file in JavaScript memory: the module reserves the buffer, the source's slices of
   * COPY_SLICE_BYTES are written straight into it. A read that fails throws the source's error
   * (NotFoundError, NotReadableError: the buffer is freed); a short read is a NotReadableError.
   * A buffer that cannot be had answers too_large with `reserveFailed: true`. A source from
   * `SliceReader.source` is read through its readSlice (slices read ahead by its worker into
   * buffers it reuses) and stopped afterwards; one with `readInto(offset, length, target)`
   * (`nodeFileSource`) reads each slice straight into wasm memory, with no copy at all.
   * @param {{size: number, read(offset: number, length: number): Uint8Array,
   *          readInto?(offset: number, length: number, target: Uint8Array): number}} source
   */
  openCopied(source, name, options = {}, onProgress = undefined) {
    this.#forgetFile();
    this.copyMs = 0;
    this.slicesReadAhead = 0;
    this.slicesReadWith = "";
    const reserved = this.native.reserveBytes(source.size);
    if (!reserved.ok) return { ...reserved, reserveFailed: true };
    const address = Number(reserved.value);
    // A SliceReader source serves its slices from buffers it reuses (no garbage per slice).
    const ahead = typeof source.readSlice === "function" && source.sliceBytes > 0;
    const into = !ahead && typeof source.readInto === "function";
    const step = ahead ? source.sliceBytes : COPY_SLICE_BYTES;
    let copyMs = 0;
    try {
      for (let offset = 0; offset < source.size; offset += step) {
        const length = Math.min(step, source.size - offset);
        // Views made just before use: memory may have grown since the last (on another thread, too).
        const target = () => heapBytes(this.module).subarray(address + offset, address + offset + length);
        let got = length;
        if (into) {
          got = source.readInto(offset, length, target());
        } else {
          const bytes = ahead ? source.readSlice(offset, length) : source.read(offset, length);
          got = bytes.length;
          if (got === length) {
            const t = performance.now();
            target().set(bytes);
            copyMs += performance.now() - t;
          }
        }
        if (got !== length) {
          throw Object.assign(new Error(`it now ends at byte ${offset + got} of the ${source.size} it had`), { name: "NotReadableError" });
        }
      }
    } catch (e) {
      this.native.releaseBytes();
      throw e;
    } finally {
      if (ahead && typeof source.stopReadingAhead === "function") source.stopReadingAhead();
    }
    this.copyMs = copyMs;
    this.slicesReadAhead = source.served || 0;
    this.slicesReadWith = (source.served && source.readWith) || "";
    return this.native.openReserved(name, jsonText(options), onProgress);
  }

  /** @param {{size: number, read(offset: number, length: number): Uint8Array}} source */
  openFile(source, name, options = {}, onProgress = undefined) {
    this.#forgetFile();
    this.fileId = nextFileId++;
    this.module.tdFiles.set(this.fileId, source);
    const result = this.native.openFile(this.fileId, source.size, name, jsonText(options), onProgress);
    if (!result.ok) this.#forgetFile();
    return result;
  }

  /**
   * A dropped File (or Blob), inside a worker: files of at most `bytesLimit` bytes are copied
   * into wasm memory, larger ones are read on demand through the VFS. Afterwards `openedVia`
   * says which ("bytes" or "vfs"). `name` defaults to the File's name. `aheadSource`: the
   * file's source from `await sliceReader.source(file)`, used (and stopped) by either path:
   * the bytes path's copy into wasm memory and the VFS path's one pass read its slices.
   */
  openDropped(file, options = {}, onProgress = undefined, bytesLimit = BYTES_LIMIT, name = file.name, aheadSource = null) {
    this.openedVia = "";
    this.slicesReadAhead = 0;
    this.slicesReadWith = "";
    if (file.size <= bytesLimit) {
      // Read straight into wasm memory in slices (no copy of the whole file in JavaScript).
      let answer = null;
      try {
        answer = this.openCopied(aheadSource || fileReaderSource(file), name, options, onProgress);
      } catch (e) {
        if (e && (e.name === "NotFoundError" || e.name === "NotReadableError")) return readFailure(name, e);
        // Not enough memory for a slice: read it on demand instead.
      }
      if (answer && !answer.reserveFailed) {
        this.openedVia = "bytes";
        return answer;
      }
      // No room in wasm memory for the whole file: read it on demand instead.
    }
    this.openedVia = "vfs";
    // The model is built from one pass over the file's slices: read ahead by a worker of
    // their own where the page allows it, then stopped (SQLite's later reads are small).
    const source = aheadSource || fileReaderSource(file);
    const result = this.openFile(source, name, options, onProgress);
    if (source.stopReadingAhead) source.stopReadingAhead();
    this.slicesReadAhead = source.served || 0;
    this.slicesReadWith = (source.served && source.readWith) || "";
    return result;
  }

  summary() { return this.native.summary(); }
  /** How the open file's tables were read: JSON {one_pass, in_place} (neither: through SQLite). */
  howRead() { return this.native.howRead(); }
  traceList(options = {}) { return this.native.traceList(jsonText(options)); }
  traceTree(traceId) { return this.native.traceTree(traceId); }
  span(spanId) { return this.native.span(spanId); }
  search(text, limit = 100, onProgress = undefined) { return this.native.search(text, limit, onProgress); }
  stats() { return this.native.stats(); }
  conversation(traceId) { return this.native.conversation(traceId); }
  queryTraces(request = {}) { return this.native.queryTraces(jsonText(request)); }
  querySpans(request = {}) { return this.native.querySpans(jsonText(request)); }
  queryMetrics(request) { return this.native.queryMetrics(jsonText(request)); }
  sql(statement, maxRows = 1000) { return this.native.sql(statement, maxRows); }

  /**
   * Streams an export: onChunk(Uint8Array) receives copies (transferable to the page);
   * onProgress(done, total) may return false to cancel.
   */
  exportTraces(request, onChunk, onProgress = undefined, chunkBytes = 1 << 20, { copy = true } = {}) {
    return this.native.exportTraces(jsonText(request), onChunk, onProgress, chunkBytes, copy !== false);
  }

  fileStats() { return this.native.fileStats(); }

  close() {
    this.native.close();
    this.#forgetFile();
  }

  /** Frees the native object; the Session cannot be used afterwards. */
  delete() {
    this.close();
    this.native.delete();
  }

  #forgetFile() {
    if (!this.fileId) return;
    const source = this.module.tdFiles.get(this.fileId);
    this.module.tdFiles.delete(this.fileId);
    if (source && typeof source.close === "function") source.close();
    this.fileId = 0;
  }
}

/** Options and requests: an object is serialised, a string is passed on as it is (JSON text). */
function jsonText(value) {
  return typeof value === "string" ? value : JSON.stringify(value ?? {});
}

function readFailure(name, e) {
  return {
    ok: false,
    code: 18,
    name: "io_error",
    message: `${name} could not be read (${e.name}: ${e.message}): it may have been moved or removed. Drop it again.`,
  };
}
