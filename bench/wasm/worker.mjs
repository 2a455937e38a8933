// The benchmark's own module worker (bench/wasm/page.mjs starts it): loads tracedrop's module
// or sql.js, then runs bench/wasm/sessions.mjs on the File the page posts, with the same
// calls the viewer's worker makes (wasm/js/tracedrop.mjs Session, FileReaderSync), timed here
// step by step. Between steps it asks the page for a memory checkpoint and waits for it.
//
//   page -> worker  {type: "load", side: "ours" | "sqljs", moduleUrl, sqljsUrl, vfs?: {blockSize, cacheBytes}}
//   worker -> page  {type: "loaded", load_ms} | {type: "failed", error}
//   page -> worker  {type: "run", file, mode: "bytes" | "vfs", passes, listOnly?}
//   worker -> page  {type: "checkpoint", pass, name, info}   (answered {type: "checkpoint-done", data})
//   worker -> page  {type: "done", passes: [result, ...]}
//   page -> worker  {type: "io", file, blockSizes, limitBytes}   the File read alone: its first
//                   limitBytes in order, with FileReaderSync in slices of each block size, then
//                   Blob.arrayBuffer() in 16 MiB slices and Blob.stream()
//   worker -> page  {type: "io-done", reads: [{how, block, bytes, calls, ms}]}
import { fileReaderSource, loadTracedrop, Session } from "../../wasm/js/tracedrop.mjs";
import { runOurs, runSqljs, timedSource } from "./sessions.mjs";

let side = "";
let td = null;
let SQL = null;
let pendingCheckpoint = null;

async function load(data) {
  const t = performance.now();
  side = data.side;
  if (side === "ours") {
    td = await loadTracedrop({ moduleUrl: new URL(data.moduleUrl, self.location.href) });
    if (data.vfs) {
      const set = td.setVfsConfig(data.vfs.blockSize, data.vfs.cacheBytes);
      if (set && set.ok === false) throw new Error(`setVfsConfig: ${set.message}`);
    }
  } else {
    const url = new URL(data.sqljsUrl, self.location.href);
    const text = await (await fetch(url)).text();
    // sql-wasm-browser.js declares `initSqlJs`; a module worker cannot importScripts it.
    const initSqlJs = new Function(`${text}\nreturn initSqlJs;`)();
    SQL = await initSqlJs({ locateFile: (file) => new URL(file, url).href });
  }
  return performance.now() - t;
}

function checkpointer(pass) {
  return (name, info) =>
    new Promise((resolve) => {
      pendingCheckpoint = resolve;
      self.postMessage({ type: "checkpoint", pass, name, info });
    });
}

async function runPass(file, mode, pass, listOnly) {
  const checkpoint = checkpointer(pass);
  if (side === "sqljs") {
    const readBytes = async () => new Uint8Array(new FileReaderSync().readAsArrayBuffer(file));
    return runSqljs({ SQL, readBytes, checkpoint });
  }
  // What Session.openDropped does (bytes up to BYTES_LIMIT, the VFS above), with the mode
  // chosen by the benchmark and the file reads timed apart.
  const open = async (session) => {
    const { source, io } = timedSource(fileReaderSource(file));
    if (mode === "bytes") {
      // Read in slices straight into wasm memory (Session.openCopied), as openDropped does.
      const result = session.openCopied(source, file.name);
      return { result, read_ms: io.ms };
    }
    return { result: session.openFile(source, file.name), io };
  };
  return runOurs({ td, Session, open, checkpoint, listOnly });
}

/**
 * How fast the File can be read by itself: FileReaderSync (what the VFS uses: SQLite's reads
 * are synchronous) in slices of each block size, then the asynchronous ways a sequential
 * reader could use instead (Blob.arrayBuffer() in 16 MiB slices, Blob.stream()).
 */
async function readFloor(file, blockSizes, limitBytes) {
  const reader = new FileReaderSync();
  const end = Math.min(file.size, limitBytes);
  const reads = [];
  for (const block of blockSizes) {
    let calls = 0;
    let bytes = 0;
    const t = performance.now();
    for (let offset = 0; offset < end; offset += block) {
      bytes += reader.readAsArrayBuffer(file.slice(offset, Math.min(end, offset + block))).byteLength;
      calls += 1;
    }
    reads.push({ how: "FileReaderSync", block, bytes, calls, ms: performance.now() - t });
  }
  {
    const block = 16 << 20;
    let calls = 0;
    let bytes = 0;
    const t = performance.now();
    for (let offset = 0; offset < end; offset += block) {
      bytes += (await file.slice(offset, Math.min(end, offset + block)).arrayBuffer()).byteLength;
      calls += 1;
    }
    reads.push({ how: "Blob.arrayBuffer", block, bytes, calls, ms: performance.now() - t });
  }
  {
    let calls = 0;
    let bytes = 0;
    const t = performance.now();
    const stream = file.slice(0, end).stream().getReader();
    for (;;) {
      const { done, value } = await stream.read();
      if (done) break;
      bytes += value.length;
      calls += 1;
    }
    reads.push({ how: "Blob.stream", block: 0, bytes, calls, ms: performance.now() - t });
  }
  return reads;
}

self.onmessage = async (event) => {
  const data = event.data;
  if (data.type === "checkpoint-done") {
    const resolve = pendingCheckpoint;
    pendingCheckpoint = null;
    if (resolve) resolve(data.data);
    return;
  }
  try {
    if (data.type === "load") {
      self.postMessage({ type: "loaded", load_ms: await load(data) });
    } else if (data.type === "io") {
      self.postMessage({ type: "io-done", reads: await readFloor(data.file, data.blockSizes, data.limitBytes) });
    } else if (data.type === "run") {
      const passes = [];
      for (let i = 0; i < data.passes; i++) {
        const result = await runPass(data.file, data.mode, i + 1, Boolean(data.listOnly));
        passes.push(result);
        if (result.error) break;
      }
      self.postMessage({ type: "done", passes });
    }
  } catch (e) {
    self.postMessage({ type: "failed", error: `${e && e.name}: ${e && e.message}` });
  }
};
