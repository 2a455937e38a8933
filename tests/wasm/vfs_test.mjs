// Tests of the file VFS through the wasm module under Node (and of Session.openCopied, the
// viewer's bytes path):
//  - a database much bigger than the block cache opens and answers exactly as the bytes path,
//    its model built in one pass over the file's slices (and, with that turned off, through
//    SQLite reading every table through the VFS);
//  - blocks smaller than a page (every page read crosses block boundaries) give the same answers;
//  - a file truncated, rewritten or deleted while open gives a clear io_error, and the module
//    keeps working afterwards.
//
//   node tests/wasm/vfs_test.mjs --module build/wasm/wasm/tracedrop.js \
//        --gen build/release/tests/data/tracedrop-gen --work build/wasm/vfs-test [--traces 2000]
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

import { loadTracedrop, nodeFileSource, Session } from "../../wasm/js/tracedrop.mjs";
import { arg, pathArg } from "./test_args.mjs";


const modulePath = pathArg("--module", "build/wasm/wasm/tracedrop.js");
const gen = pathArg("--gen", "build/release/tests/data/tracedrop-gen");
const work = pathArg("--work", "build/wasm/vfs-test");
const traces = arg("--traces", "2000");
mkdirSync(work, { recursive: true });

let failed = 0;
function check(ok, what, detail = "") {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}${detail ? ` (${detail})` : ""}`);
  if (!ok) failed++;
}
function same(a, b, what) {
  const ok = a.ok && b.ok && a.value === b.value;
  check(ok, what, ok ? `${a.value.length} chars` : `${a.ok ? "" : a.message} / ${b.ok ? "" : b.message}`);
}
const mib = (n) => `${(n / 1048576).toFixed(1)} MiB`;

// A database bigger than the cache: generated once, kept between runs.
const big = path.join(work, `big-${traces}.db`);
if (!existsSync(big)) {
  if (!existsSync(gen)) {
    console.error(`vfs_test: ${gen} is missing: build the native tree first`);
    process.exit(1);
  }
  execFileSync(gen, ["--out", big, "--traces", traces, "--seed", "77"], { stdio: "inherit" });
}
const size = statSync(big).size;

const td = await loadTracedrop({ moduleUrl: pathToFileURL(modulePath) });
const s = new Session(td);

// The reference: the whole file in wasm memory.
let r = s.openBytes(readFileSync(big), "big.db");
check(r.ok, `bytes path opens ${mib(size)}`, r.ok ? "" : r.message);
const ref = {
  stats: s.stats(),
  list: s.traceList({ limit: 0 }),
  search: s.search("Zürich", 0),
  sql: s.sql("SELECT count(*), sum(length(attributes)) FROM spans", 0),
};
const exportOf = (session) => {
  const chunks = [];
  const summary = session.exportTraces({ format: "otlp-jsonl", limit: 300 }, (c) => chunks.push(c), undefined, 65536);
  return { ok: summary.ok, value: summary.ok ? Buffer.concat(chunks).toString("latin1") : "", message: summary.message };
};
ref.export = exportOf(s);
{
  // memoryStats: the heap's top within the wasm memory, what is allocated below it, the holes.
  const open = td.memoryStats();
  const sane = (m) => m.heap_top > 0 && m.heap_top <= td.HEAPU8.buffer.byteLength && m.in_use > 0 && m.free >= 0 && m.in_use + m.free <= m.heap_top;
  check(sane(open) && open.in_use > size / 4, "memoryStats with a file open: a model's worth allocated, below the heap's top", JSON.stringify(open));
  s.close();
  const closed = td.memoryStats();
  check(closed.in_use < open.in_use - size / 8 && closed.heap_top === open.heap_top,
        "memoryStats after close: the model freed, the heap's top where it was", JSON.stringify(closed));
  check(s.openBytes(new Uint8Array(readFileSync(big)), "big.db").ok, "opens again after close");
}
{
  // {copy: false}: each chunk a view of wasm memory, valid while onChunk runs; copied here.
  const views = [];
  let inWasm = 0;
  const summary = s.exportTraces({ format: "otlp-jsonl", limit: 300 }, (c) => {
    if (c.buffer === td.HEAPU8.buffer) inWasm += 1;
    views.push(Buffer.from(c));
  }, undefined, 65536, { copy: false });
  check(inWasm === views.length && views.length > 1, "export {copy: false}: every chunk a view of wasm memory", `${inWasm} of ${views.length}`);
  same(ref.export, { ok: summary.ok, value: summary.ok ? Buffer.concat(views).toString("latin1") : "", message: summary.message },
       "export {copy: false}: the same bytes as copies");
}
s.close();

// The viewer's bytes path (Session.openDropped): the file read in slices straight into wasm
// memory (openCopied), the same answers as openBytes; a source that fails or reads short.
{
  const opened = s.openCopied(await nodeFileSource(big), "big.db");
  check(opened.ok, `openCopied: opens ${mib(size)} read in slices into wasm memory`, opened.ok ? "" : opened.message);
  same(ref.stats, s.stats(), "openCopied: stats equal openBytes");
  same(ref.list, s.traceList({ limit: 0 }), "openCopied: trace list equals");
  same(ref.search, s.search("Zürich", 0), "openCopied: search equals");
  same(ref.sql, s.sql("SELECT count(*), sum(length(attributes)) FROM spans", 0), "openCopied: SQL over every row equals");
  same(ref.export, exportOf(s), "openCopied: export bytes equal");
  check(JSON.parse(s.howRead().value).in_place === true, "openCopied: its pages read in place, as bytes", s.howRead().value);
  s.close();
  const whole = readFileSync(big);
  const half = Math.floor(size / 2);
  const failures = [
    ["reads short", { size, read: (o, n) => whole.subarray(o, Math.min(o + n, Math.max(o, half))) }, "NotReadableError", /now ends at byte \d+ of the \d+ it had/],
    ["throws", { size, read: (o, n) => { if (o > half) throw Object.assign(new Error("the file was not found"), { name: "NotFoundError" }); return whole.subarray(o, o + n); } }, "NotFoundError", /not found/],
  ];
  for (const [what, source, name, pattern] of failures) {
    let thrown = null;
    try {
      const r = s.openCopied(source, "bad.db");
      thrown = { name: "none", message: JSON.stringify(r) };
    } catch (e) {
      thrown = e;
    }
    check(thrown.name === name && pattern.test(thrown.message), `openCopied, a source that ${what}: ${name}`, `${thrown.name}: ${thrown.message}`);
    const none = s.stats();
    check(!none.ok && /no database is open/.test(none.message), `openCopied, a source that ${what}: nothing open afterwards`, none.ok ? "open" : none.message);
  }
  const huge = s.openCopied({ size: 5e9, read: () => new Uint8Array(0) }, "huge.db");
  check(!huge.ok && huge.reserveFailed === true, "openCopied: no buffer for 5 GB (the caller reads it on demand instead)", JSON.stringify(huge));
  const again = s.openCopied(await nodeFileSource(big), "big.db");
  same(ref.stats, again.ok ? s.stats() : again, "openCopied: opens normally afterwards");
  s.close();

  // nodeFileSource reads straight into wasm memory (readInto): no copy; a source with read()
  // alone has its slices copied in, and the time that took is copyMs.
  const node = await nodeFileSource(big);
  let into = 0;
  const counted = { size: node.size, read: () => { throw new Error("read() used instead of readInto()"); },
                    readInto: (o, n, t) => { into += 1; return node.readInto(o, n, t); } };
  const direct = s.openCopied(counted, "big.db");
  check(direct.ok && into === Math.ceil(size / (16 << 20)) && s.copyMs === 0,
        "openCopied: a source with readInto is read straight into wasm memory, one call per 16 MiB slice",
        `ok ${direct.ok}, ${into} calls, copyMs ${s.copyMs}`);
  same(ref.export, exportOf(s), "openCopied through readInto: export bytes equal");
  s.close();
  const copied = s.openCopied({ size, read: (o, n) => whole.subarray(o, o + n) }, "big.db");
  check(copied.ok && s.copyMs > 0, "openCopied: a source with read() alone is copied in (copyMs > 0)", `ok ${copied.ok}, copyMs ${s.copyMs}`);
  same(ref.stats, copied.ok ? s.stats() : copied, "openCopied through read(): stats equal");
  s.close();
  const shortInto = { size, read: () => new Uint8Array(0), readInto: (o, n, t) => node.readInto(o, Math.min(n, Math.max(0, half - o)), t) };
  let short = null;
  try {
    short = s.openCopied(shortInto, "short.db");
  } catch (e) {
    short = e;
  }
  check(short.name === "NotReadableError" && /now ends at byte \d+ of the \d+ it had/.test(short.message),
        "openCopied, readInto that reads short: NotReadableError", `${short.name}: ${short.message}`);
  node.close();
  // A file modified between the source's opening and its read: the source says so.
  const copy = path.join(work, "modified.db");
  copyFileSync(big, copy);
  const changing = await nodeFileSource(copy);
  writeFileSync(copy, whole.subarray(0, half));
  let modified = null;
  try {
    modified = s.openCopied(changing, "modified.db");
  } catch (e) {
    modified = e;
  }
  check(modified.name === "NotReadableError" && /modified/.test(modified.message),
        "openCopied, a file modified before readInto: NotReadableError", `${modified.name}: ${modified.message}`);
  changing.close();
  unlinkSync(copy);
}

function compareVfs(label, blockSize, cacheBytes, options) {
  const set = td.setVfsConfig(blockSize, cacheBytes);
  check(set.ok, `${label}: VFS config ${blockSize} B blocks, ${mib(cacheBytes)} cache`, set.ok ? "" : set.message);
  return nodeFileSource(big).then((source) => {
    const t0 = Date.now();
    const opened = s.openFile(source, "big.db", options);
    check(opened.ok, `${label}: opens through the VFS in ${Date.now() - t0} ms`, opened.ok ? "" : opened.message);
    if (!opened.ok) return;
    same(ref.stats, s.stats(), `${label}: stats equal the bytes path`);
    same(ref.list, s.traceList({ limit: 0 }), `${label}: trace list equals`);
    same(ref.search, s.search("Zürich", 0), `${label}: search equals`);
    same(ref.sql, s.sql("SELECT count(*), sum(length(attributes)) FROM spans", 0), `${label}: SQL over every row equals`);
    same(ref.export, exportOf(s), `${label}: export bytes equal`);
    const st = s.fileStats();
    const how = JSON.parse(s.howRead().value);
    const onePass = options.one_pass !== false;
    check(how.one_pass === onePass && !how.in_place,
      `${label}: the model was built ${onePass ? "in one pass over the file's slices" : "through SQLite and the VFS"}`,
      `${s.howRead().value}, ${st.pass_reads} slice reads, ${mib(st.pass_bytes)}`);
    if (onePass) check(st.pass_bytes === size, `${label}: the one pass read the file once`, mib(st.pass_bytes));
    const cacheBlocks = Math.max(1, Math.floor(cacheBytes / blockSize));
    // SQL over every row and the export read every page again through the cache.
    check(st.blocks_filled > cacheBlocks && st.bytes_loaded >= (onePass ? 0.5 : 1) * size,
      `${label}: the file was streamed through the cache`,
      `${st.reads} reads, ${st.block_loads} source reads filling ${st.blocks_filled} blocks (cache holds ${cacheBlocks}), ${st.cache_hits} hits, ${mib(st.bytes_loaded)} loaded`);
    // Forward scans read ahead (several blocks per source read) when the cache has room for it.
    const maxAhead = Math.max(1, Math.min(Math.floor(cacheBlocks / 4), Math.floor((4 << 20) / blockSize), 256));
    if (maxAhead >= 4) {
      check(st.block_loads * 2 < st.blocks_filled, `${label}: forward scans read ahead`,
        `${st.block_loads} source reads for ${st.blocks_filled} blocks`);
    } else {
      check(st.block_loads === st.blocks_filled, `${label}: no read-ahead without room in the cache`,
        `${st.block_loads} source reads for ${st.blocks_filled} blocks`);
    }
    s.close();
  });
}

await compareVfs("big file, small cache", 65536, 1 << 20, {});
await compareVfs("big file, attributes on demand", 65536, 2 << 20, { attributes: "on-demand" });
await compareVfs("512-byte blocks (pages cross 8 blocks)", 512, 256 << 10, { attributes: "on-demand" });
await compareVfs("1 KiB blocks, one-block cache", 1024, 1024, {});
await compareVfs("default blocks and cache (read-ahead up to 4 MiB)", 65536, 32 << 20, {});
await compareVfs("one pass in 8 MiB slices", 65536, 1 << 20, { slice_mib: 8 });
await compareVfs("no one pass: tables read through SQLite and the VFS", 65536, 1 << 20, { one_pass: false });
await compareVfs("no one pass, attributes on demand", 65536, 4 << 20, { one_pass: false, attributes: "on-demand" });

// Changes while open. Attributes on demand, so requests after the open read the file again.
td.setVfsConfig(65536, 1 << 20);
async function changedWhileOpen(label, change, request) {
  const copy = path.join(work, "changing.db");
  copyFileSync(big, copy);
  const source = await nodeFileSource(copy);
  const opened = s.openFile(source, "changing.db", { attributes: "on-demand" });
  check(opened.ok, `${label}: opens`, opened.ok ? "" : opened.message);
  change(copy);
  const res = request();
  const clear = !res.ok && res.name === "io_error" && /changed or was removed/.test(res.message) && /Drop the file again/.test(res.message);
  check(clear, `${label}: a clear io_error`, res.ok ? "the request succeeded" : `${res.name}: ${res.message}`);
  const again = s.stats();
  check(!again.ok && again.name === "io_error", `${label}: later requests answer the same io_error`, again.ok ? "stats answered" : `${again.name}: ${again.message}`);
  s.close();
  if (existsSync(copy)) unlinkSync(copy);
}
await changedWhileOpen("truncated to half", (p) => truncateSync(p, Math.floor(size / 2)), () => s.search("no such text at all", 0));
await changedWhileOpen("deleted", (p) => unlinkSync(p), () => s.exportTraces({ format: "jaeger" }, () => {}));
await changedWhileOpen("rewritten with other bytes", (p) => writeFileSync(p, Buffer.alloc(size, 7)), () => s.sql("SELECT sum(length(attributes)) FROM spans", 0));

// A source that starts reading short (a File whose bytes shrank without an exception): while
// SQLite reads it through the VFS, and while the one pass reads its slices.
for (const [label, budget0, options] of [["through the VFS", 64, { one_pass: false }], ["in the one pass", 8, { slice_mib: 1 }]]) {
  const full = await nodeFileSource(big);
  let budget = budget0;  // reads allowed before the file "ends early"
  const shrinking = {
    size: full.size,
    read(offset, length) {
      const bytes = full.read(offset, length);
      return --budget > 0 ? bytes : bytes.subarray(0, Math.floor(length / 2));
    },
  };
  td.setVfsConfig(65536, 256 << 10);
  const opened = s.openFile(shrinking, "shrinking.db", options);
  const clear = !opened.ok && opened.name === "io_error" && /now ends at byte/.test(opened.message);
  check(clear, `a file that reads short while loading ${label}: a clear io_error`, opened.ok ? "opened" : opened.message);
  s.close();
}

// The module still works after all that.
r = s.openBytes(readFileSync(big), "big.db");
check(r.ok && s.stats().value === ref.stats.value, "the module opens files normally afterwards");
s.delete();

if (failed) {
  console.error(`vfs_test: ${failed} failures`);
  process.exit(1);
}
console.log("vfs_test: all passed");
