// The threaded module (tracedrop_mt.js) against the single-threaded one (tracedrop.js) on a
// database large enough for the core's helper threads to run (the model build reads the spans
// table from both ends and parses the events beside it; exports render batches and compress
// gzip blocks on a second thread): the same answers and the same export bytes, threads started
// and none refused, the pool's workers stopped and started again, and nothing left running when
// the script ends.
//
//   node tests/wasm/threads_test.mjs --module build/wasm/wasm/tracedrop.js \
//     --threaded build/wasm/wasm/tracedrop_mt.js --gen build/release/tests/data/tracedrop-gen --work DIR
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

import { canUseThreads, loadBestTracedrop, loadTracedrop, nodeFileSource, Session, startThreads, stopIdleThreads } from "../../wasm/js/tracedrop.mjs";
import { pathArg } from "./test_args.mjs";

const singlePath = pathArg("--module", "build/wasm/wasm/tracedrop.js");
const threadedPath = pathArg("--threaded", "build/wasm/wasm/tracedrop_mt.js");
const gen = pathArg("--gen", "build/release/tests/data/tracedrop-gen");
const work = pathArg("--work", "build/wasm/threads-test");
for (const p of [singlePath, threadedPath, threadedPath.replace(/\.js$/, ".worker.js"), gen]) {
  if (!existsSync(p)) {
    console.error(`threads_test: ${p} is missing: build the wasm and release presets first`);
    process.exit(1);
  }
}

let failed = 0;
const check = (ok, what, detail = "") => {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}${detail ? ` (${detail})` : ""}`);
  if (!ok) failed++;
};
const sha = (bytes) => createHash("sha256").update(bytes).digest("hex");

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const db = path.join(work, "threads.db");
execFileSync(gen, ["--out", db, "--traces", "1500", "--seed", "31"]);
const bytes = readFileSync(db);

const single = await loadTracedrop({ moduleUrl: pathToFileURL(singlePath) });
const threaded = await loadTracedrop({ moduleUrl: pathToFileURL(threadedPath) });
check(single.threads === false && threaded.threads === true, "each module says what it is",
  `${single.threads} / ${threaded.threads}`);
check(canUseThreads(), "this Node can run the threaded module");
const best = await loadBestTracedrop({ moduleUrl: pathToFileURL(singlePath) });
check(best.module.threads === true && best.why === "", "loadBestTracedrop picks tracedrop_mt.js beside tracedrop.js", best.why);
const byPath = await loadBestTracedrop({ moduleUrl: singlePath });
check(byPath.module.threads === true, "and beside a module given as a file path");
const off = await loadBestTracedrop({ moduleUrl: pathToFileURL(singlePath), threads: false });
check(off.module.threads === false, "and the single-threaded one with threads: false");

/** Every answer a user's requests give, and the exports' bytes, through one module. */
function answers(td, how) {
  const s = new Session(td);
  return (async () => {
    const opened = how === "bytes" ? s.openBytes(bytes, "threads.db") : s.openFile(await nodeFileSource(db), "threads.db");
    if (!opened.ok) throw new Error(`${how}: ${opened.message}`);
    const out = { summary: opened.value };
    out.list = s.traceList({ limit: 0 }).value;
    out.stats = s.stats().value;
    out.search = s.search("weather", 0).value;
    const first = JSON.parse(s.traceList({ limit: 1 }).value)[0].trace_id;
    out.tree = s.traceTree(first).value;
    for (const [name, request] of [
      ["otlp", { format: "otlp-json" }],
      ["jsonl", { format: "otlp-jsonl" }],
      ["jaeger", { format: "jaeger-json" }],
      ["gzip", { format: "otlp-json", gzip: true }],
    ]) {
      const chunks = [];
      const r = s.exportTraces(request, (c) => chunks.push(c), undefined, 1 << 16);
      if (!r.ok) throw new Error(`${how} ${name}: ${r.message}`);
      const all = Buffer.concat(chunks);
      out[name] = `${all.length} bytes, sha256 ${sha(all)}`;
    }
    s.delete();
    return out;
  })();
}

for (const how of ["bytes", "vfs"]) {
  const before = threaded.threadCounts();
  const a = await answers(single, how);
  const b = await answers(threaded, how);
  const after = threaded.threadCounts();
  for (const key of Object.keys(a)) {
    check(a[key] === b[key], `${how}: ${key} the same from both modules`, a[key] === b[key] ? "" : `${String(a[key]).slice(0, 200)} / ${String(b[key]).slice(0, 200)}`);
  }
  const started = after.started - before.started;
  // bytes: the build's two table readers, the exports' renderer (four exports), gzip's
  // compressor; vfs: the one pass has none, the exports do (a file this small has its
  // attribute text read into memory, so batches render on two threads).
  check(started >= (how === "bytes" ? 6 : 4) && after.refused === before.refused,
    `${how}: the threaded module's helper threads ran, none refused`, `${started} started, ${after.refused - before.refused} refused`);
  const none = single.threadCounts();
  check(none.started === 0 && none.refused === 0 && none.threads === false, `${how}: the single-threaded module started none`, JSON.stringify(none));
}

// The pool's workers stopped (stopIdleThreads, as the viewer's worker does for a one-pass open
// through the VFS): pthread_create fails, the core does the helpers' work itself, and the
// answers stay the same; startThreads brings the workers back and threads start again.
{
  const reference = await answers(single, "bytes");
  check(threaded.threadPool === 3 && threaded.PThread.unusedWorkers.length === 3, "the pool: 3 idle workers",
    `${threaded.threadPool}, ${threaded.PThread.unusedWorkers.length} idle`);
  const stopped = stopIdleThreads(threaded);
  const before = threaded.threadCounts();
  const starved = await answers(threaded, "bytes");
  const after = threaded.threadCounts();
  check(stopped === 3 && threaded.PThread.unusedWorkers.length === 0, "stopIdleThreads stops the 3", `${stopped}`);
  check(after.started === before.started && after.refused > before.refused,
    "no worker: every helper thread refused, none started", `${after.refused - before.refused} refused, ${after.started - before.started} started`);
  for (const key of Object.keys(reference)) {
    check(reference[key] === starved[key], `no worker: ${key} the same`);
  }
  const started = await startThreads(threaded);
  check(started === true && threaded.PThread.unusedWorkers.length === 3, "startThreads loads 3 workers again",
    `${started}, ${threaded.PThread.unusedWorkers.length} idle`);
  check(await startThreads(threaded) === true && threaded.PThread.unusedWorkers.length === 3, "and is a no-op when the pool is whole");
  const again = threaded.threadCounts();
  const back = await answers(threaded, "bytes");
  const last = threaded.threadCounts();
  check(last.started > again.started && last.refused === again.refused, "with the workers back, threads start again",
    `${last.started - again.started} started, ${last.refused - again.refused} refused`);
  check(Object.keys(reference).every((key) => reference[key] === back[key]), "and the answers are the same");
  check(stopIdleThreads(single) === 0 && await startThreads(single) === true, "both are no-ops for the single-threaded module");
}

rmSync(work, { recursive: true, force: true });
if (failed) {
  console.error(`threads_test: FAILED: ${failed} checks`);
  process.exit(1);
}
console.log("threads_test: all passed");
