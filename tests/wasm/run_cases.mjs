// Runs the shared behaviour cases through the wasm module under Node and compares every answer
// byte for byte with the native core's (written by tracedrop-cases into WORK/out).
//
//   node tests/wasm/run_cases.mjs --module build/wasm/wasm/tracedrop.js --work build/release/cases
//
// Each database is opened as bytes in wasm memory and through the file VFS (with a small block
// cache, so that reads cross block boundaries and blocks are evicted). Exit 1 on a mismatch.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

import { loadTracedrop, nodeFileSource, Session } from "../../wasm/js/tracedrop.mjs";
import { arg, pathArg } from "./test_args.mjs";


const modulePath = pathArg("--module", "build/wasm/wasm/tracedrop.js");
const work = pathArg("--work", "build/release/cases");
const only = arg("--only", "");
const manifestPath = path.join(work, "cases.resolved.json");
if (!existsSync(manifestPath)) {
  console.error(`run_cases: ${manifestPath} is missing: run tracedrop-cases first (ctest -R cases in the native build)`);
  process.exit(1);
}
if (!existsSync(modulePath)) {
  console.error(`run_cases: ${modulePath} is missing: build the wasm preset first`);
  process.exit(1);
}
const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
const td = await loadTracedrop({ moduleUrl: pathToFileURL(modulePath) });
// Small blocks and cache: every database is larger than the cache, and 8 KiB blocks hold two
// 4 KiB pages, so page reads and the 100-byte header read meet block boundaries.
const config = td.setVfsConfig(8192, 64 * 1024);
if (!config.ok) throw new Error(config.message);

const errorText = (r) => `error ${r.code} ${r.name}\n${r.message}\n`;

/** A source for a file that is gone: like a browser File whose file was deleted. */
const missingSource = {
  size: 4096,
  read() {
    throw Object.assign(new Error("the file was not found"), { name: "NotFoundError" });
  },
};

async function open(session, db, mode, options) {
  const name = `${db.name}.db`;
  const opts = options ? JSON.parse(options) : {};
  if (mode === "bytes") return session.openBytes(readFileSync(path.join(work, db.file)), name, opts);
  const source = db.missing ? missingSource : await nodeFileSource(path.join(work, db.file));
  return session.openFile(source, name, opts);
}

function runOp(session, c) {
  const out = { text: "", exportBytes: Buffer.alloc(0) };
  let r;
  switch (c.op) {
    case "open": r = session.summary(); break;
    case "stats": r = session.stats(); break;
    case "list": r = session.native.traceList(c.options ?? ""); break;
    case "show": r = session.traceTree(c.trace); break;
    case "span": r = session.span(c.span); break;
    case "conversation": r = session.conversation(c.trace); break;
    case "search": r = session.search(c.text, c.limit, () => !c.cancel); break;
    case "query_traces": r = session.native.queryTraces(c.request); break;
    case "query_spans": r = session.native.querySpans(c.request); break;
    case "query_metrics": r = session.native.queryMetrics(c.request); break;
    case "sql": r = session.sql(c.statement, c.max_rows); break;
    case "export": {
      const chunks = [];
      // Small chunks: the streaming path is exercised even by small exports.
      r = session.native.exportTraces(c.request, (chunk) => chunks.push(chunk), () => !c.cancel, 16384, true);
      out.exportBytes = Buffer.concat(chunks);
      break;
    }
    default: throw new Error(`unknown op ${c.op}`);
  }
  out.text = r.ok ? r.value : errorText(r);
  return out;
}

function describeDiff(what, expected, got) {
  let i = 0;
  while (i < expected.length && i < got.length && expected[i] === got[i]) i++;
  const from = Math.max(0, i - 60);
  const show = (b) => JSON.stringify(b.subarray(from, from + 160).toString("utf8"));
  return `MISMATCH ${what}: ${expected.length} bytes native, ${got.length} bytes wasm, first difference at byte ${i}\n` +
    `  native: ${show(expected)}\n  wasm:   ${show(got)}`;
}

let compared = 0;
const failures = [];
const session = new Session(td);
for (const c of manifest.cases) {
  if (only && !c.name.includes(only)) continue;
  const db = { name: c.db, ...manifest.databases[c.db] };
  for (const mode of c.modes) {
    const base = path.join(work, "out", `${c.name}.${mode}`);
    const opened = await open(session, db, mode, c.open_options);
    const answer = opened.ok ? runOp(session, c) : { text: `open ${errorText(opened)}`, exportBytes: Buffer.alloc(0) };
    session.close();
    const expected = readFileSync(`${base}.txt`);
    const got = Buffer.from(answer.text, "utf8");
    compared++;
    if (!expected.equals(got)) failures.push(describeDiff(`${c.name} [${mode}]`, expected, got));
    if (c.op === "export") {
      const expectedBytes = readFileSync(`${base}.export`);
      if (!expectedBytes.equals(answer.exportBytes)) {
        failures.push(describeDiff(`${c.name} [${mode}] export bytes`, expectedBytes, answer.exportBytes));
      }
    }
  }
}
session.delete();

const label = path.basename(modulePath);
if (failures.length) {
  console.error(failures.join("\n"));
  console.error(`run_cases (${label}): ${failures.length} mismatches in ${compared} answers`);
  process.exit(1);
}
console.log(`run_cases (${label}): ${compared} answers identical to the native core's`);
