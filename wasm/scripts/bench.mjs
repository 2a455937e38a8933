// Times the module on one database under Node: open (model build), stats, a search without
// match, an OTLP JSON Lines export; as bytes in memory and through the VFS. Used to choose the
// build flags (wasm/README.md has the figures).
//
//   node wasm/scripts/bench.mjs --module build/wasm/wasm/tracedrop.js --db big.db [--runs 3]
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

import { loadTracedrop, nodeFileSource, Session } from "../js/tracedrop.mjs";

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const modulePath = path.resolve(arg("--module", "build/wasm/wasm/tracedrop.js"));
const db = path.resolve(arg("--db", ""));
const runs = Number(arg("--runs", "3"));

const td = await loadTracedrop({ moduleUrl: pathToFileURL(modulePath) });
const s = new Session(td);
const bytes = readFileSync(db);

function time(fn) {
  const t0 = process.hrtime.bigint();
  const r = fn();
  if (r && r.ok === false) throw new Error(r.message);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const best = {};
const note = (k, ms) => { best[k] = Math.min(best[k] ?? Infinity, ms); };
for (let i = 0; i < runs; i++) {
  note("open bytes", time(() => s.openBytes(bytes, "bench.db")));
  note("stats", time(() => s.stats()));
  note("search (no match)", time(() => s.search("no such text qqq", 0)));
  let n = 0;
  note("export otlp-jsonl", time(() => s.exportTraces({ format: "otlp-jsonl" }, (c) => { n += c.length; })));
  s.close();
  const source = await nodeFileSource(db);
  note("open via VFS", time(() => s.openFile(source, "bench.db", {})));
  s.close();
}
s.delete();
console.log(`${path.basename(modulePath)} on ${path.basename(db)} (${(bytes.length / 1048576).toFixed(1)} MiB), best of ${runs}:`);
for (const [k, ms] of Object.entries(best)) console.log(`  ${k.padEnd(20)} ${ms.toFixed(0).padStart(6)} ms`);
