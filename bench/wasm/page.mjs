// The page of the Chromium benchmark (bench/wasm/chromium_bench.mjs drives it). The database is
// the File of the <input type=file> (set by the driver, as a user's choice would set it); the
// page hands it to a worker and reports the worker's figures:
//
//   side "client"  the viewer's own path: web/client.mjs (TracedropClient) and web/worker.mjs,
//                  timed here, on the page, from each call to its answer (messages included)
//   side "ours"    bench/wasm/worker.mjs running bench/wasm/sessions.mjs with tracedrop's module
//                  (the same Session calls, timed inside the worker, file reads timed apart)
//   side "sqljs"   bench/wasm/worker.mjs running sessions.mjs with sql.js
//
// window.benchCheckpoint(name) is exposed by the driver: it reads the renderer's memory from
// /proc and answers it; the worker's steps wait for it between timed spans.
import { EXPORT_FORMATS, LIST_LIMIT, NEEDLES, SEARCH_LIMIT } from "./sessions.mjs";

const MODULE_URL = "/build/wasm/wasm/tracedrop.js";
const SQLJS_URL = "/node_modules/sql.js/dist/sql-wasm-browser.js";
const now = () => performance.now();

function theFile() {
  const file = document.getElementById("file").files[0];
  if (!file) throw new Error("no file in the input");
  return file;
}

async function checkpoint(name, info = {}) {
  const data = await window.benchCheckpoint(name);
  return { ...info, ...data };
}

/** Through bench/wasm/worker.mjs. */
async function runWorker(side, mode, passes, vfs, listOnly) {
  const file = theFile();
  const before = await checkpoint("start");
  const worker = new Worker(new URL("./worker.mjs", import.meta.url), { type: "module" });
  const call = (message, until) =>
    new Promise((resolve) => {
      worker.onmessage = async (event) => {
        const data = event.data;
        if (data.type === "checkpoint") {
          const measured = await checkpoint(`${data.pass}:${data.name}`, data.info);
          worker.postMessage({ type: "checkpoint-done", data: measured });
        } else if (until.includes(data.type)) {
          resolve(data);
        }
      };
      worker.onerror = (e) => resolve({ type: "failed", error: `worker error: ${e.message}` });
      worker.postMessage(message);
    });
  const t = now();
  const loaded = await call({ type: "load", side, moduleUrl: MODULE_URL, sqljsUrl: SQLJS_URL, vfs }, ["loaded", "failed"]);
  const loadPageMs = now() - t;
  if (loaded.type === "failed") return { error: loaded.error };
  const afterLoad = await checkpoint("loaded");
  const done = await call({ type: "run", file, mode, passes, listOnly }, ["done", "failed"]);
  worker.terminate();
  if (done.type === "failed") return { error: done.error, before, afterLoad };
  return { load_ms: loaded.load_ms, load_page_ms: loadPageMs, passes: done.passes, before, afterLoad, file_bytes: file.size };
}

/** Through the viewer's client and worker (web/client.mjs, web/worker.mjs). */
async function runClient(mode, passes, vfs, threads) {
  const file = theFile();
  const { TracedropClient, parseAnswer } = await import("/web/client.mjs");
  const before = await checkpoint("start");
  let t = now();
  const client = new TracedropClient({ workerUrl: "/web/worker.mjs", moduleUrl: MODULE_URL, threads, ...(vfs ? { vfs } : {}) });
  const ready = await client.ready;
  const load_ms = now() - t;
  if (!ready.ok) return { error: `client not ready: ${ready.message}` };
  // The worker warms the module up right after ready (web/worker.mjs); a user drops a file
  // later than that, so the open is timed from when a first request (answered "not open")
  // comes back: the time a page has before the first drop.
  t = now();
  await client.summary();
  const warm_up_ms = now() - t;
  const afterLoad = await checkpoint("loaded");
  const bytesLimit = mode === "bytes" ? 2 ** 52 : mode === "vfs" ? -1 : undefined;
  const out = [];
  for (let pass = 1; pass <= passes; pass++) {
    const ms = {};
    const counts = {};
    const checkpoints = {};
    const fail = (what, answer) => ({ error: `${what}: ${answer.name}: ${answer.message}` });
    t = now();
    const opened = await client.open(file, bytesLimit === undefined ? {} : { bytesLimit });
    ms.open = now() - t;
    if (!opened.ok) { out.push(fail("open", opened)); break; }
    counts.via = opened.via;
    const summary = JSON.parse(opened.value);
    Object.assign(counts, { traces: summary.traces, spans: summary.spans, events: summary.events, file_bytes: summary.file_size });
    t = now();
    const list = await client.traceList({ limit: LIST_LIMIT });
    ms.list = now() - t;
    if (!list.ok) { out.push(fail("traceList", list)); break; }
    ms.list_ready = ms.open + ms.list;
    const rows = parseAnswer(list);
    counts.list_rows = rows.length;
    checkpoints.list_ready = await checkpoint(`${pass}:list_ready`);
    t = now();
    for (const row of rows) await client.traceTree(row.trace_id);
    ms.tree = (now() - t) / Math.max(1, rows.length);
    for (const needle of NEEDLES) {
      t = now();
      const hits = await client.search(needle.text, { limit: SEARCH_LIMIT });
      ms[`search.${needle.key}`] = now() - t;
      counts[`hits.${needle.key}`] = hits.ok ? parseAnswer(hits).length : -1;
    }
    t = now();
    await client.stats();
    ms.stats = now() - t;
    for (const format of EXPORT_FORMATS) {
      let bytes = 0;
      t = now();
      const done = await client.export({ format }, { onChunk: (chunk) => { bytes += chunk.length; } });
      ms[`export.${format}`] = now() - t;
      if (!done.ok) { out.push(fail(`export ${format}`, done)); break; }
      counts[`export.${format}.bytes`] = bytes;
      counts[`export.${format}.spans`] = JSON.parse(done.value).spans;
    }
    const vfs = await client.fileStats();
    if (vfs.ok) counts.vfs = parseAnswer(vfs);
    checkpoints.end = await checkpoint(`${pass}:end`);
    await client.close();
    out.push({ side: "client", ms, counts, checkpoints });
  }
  client.terminate();
  return { load_ms, warm_up_ms, threads: ready.threads, passes: out, before, afterLoad, file_bytes: file.size };
}

/** FileReaderSync alone in the worker (no module): the floor of the VFS reads. */
async function runIo() {
  const file = theFile();
  const worker = new Worker(new URL("./worker.mjs", import.meta.url), { type: "module" });
  const done = await new Promise((resolve) => {
    worker.onmessage = (event) => resolve(event.data);
    worker.onerror = (e) => resolve({ type: "failed", error: `worker error: ${e.message}` });
    worker.postMessage({ type: "io", file, blockSizes: [64 << 10, 1 << 20, 16 << 20], limitBytes: 256 << 20 });
  });
  worker.terminate();
  return done.type === "failed" ? { error: done.error } : { io: done.reads, file_bytes: file.size };
}

window.runBench = async ({ side, mode, passes, vfs, listOnly, threads }) => {
  try {
    if (side === "io") return await runIo();
    if (side === "client") return await runClient(mode, passes, vfs, threads);
    return await runWorker(side, mode, passes, vfs, listOnly);
  } catch (e) {
    return { error: `${e && e.name}: ${e && e.message}` };
  }
};
window.benchPageReady = true;
