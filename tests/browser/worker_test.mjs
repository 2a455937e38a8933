// The worker (web/worker.mjs) and its client (web/client.mjs) in headless Chromium, against
// the native core's answers. Started by CTest (browser_worker in wasm/CMakeLists.txt):
//
//   node tests/browser/worker_test.mjs --module build/wasm/wasm/tracedrop.js \
//     --work build/release/cases --gen build/release/tests/data/tracedrop-gen \
//     --cli build/release/cli/tracedrop --tmp build/wasm/browser-test [--chromium /usr/bin/chromium]
//
// A static server (server.mjs) serves the page twice: cross-origin isolated (/iso: cancel
// through a SharedArrayBuffer flag) and not (/plain: cancel by restarting the worker). Files
// are chosen through an <input type=file> with Playwright's setInputFiles, so the page holds
// real disk-backed File objects: the bytes path reads them with FileReaderSync, the VFS path
// reads slices of them on demand, and changing or removing one on disk is seen by the browser.
// Exit 1 on any failed check.
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { startServer } from "./server.mjs";
import { arg, pathArg } from "../wasm/test_args.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");

const modulePath = pathArg("--module", "build/wasm/wasm/tracedrop.js");
const work = pathArg("--work", "build/release/cases");
const gen = pathArg("--gen", "build/release/tests/data/tracedrop-gen");
const cli = pathArg("--cli", "build/release/cli/tracedrop");
const tmp = pathArg("--tmp", "build/wasm/browser-test");
const chromiumPath = arg("--chromium", "/usr/bin/chromium");
const only = arg("--only", "");
// on: the threaded module (tracedrop_mt.js beside --module) was built, and isolated pages use it.
const threadsBuilt = arg("--threads", "on") === "on";

for (const [what, p, hint] of [
  ["wasm module", modulePath, "build the wasm preset"],
  ["wasm binary", modulePath.replace(/\.js$/, ".wasm"), "build the wasm preset"],
  ...(threadsBuilt ? [["threaded wasm module", path.join(path.dirname(modulePath), "tracedrop_mt.worker.js"), "build the wasm preset (or pass --threads off)"]] : []),
  ["native cases", path.join(work, "cases.resolved.json"), "run the release tests (ctest --preset release)"],
  ["tracedrop-gen", gen, "build the release preset"],
  ["native CLI", cli, "build the release preset"],
  ["Chromium", chromiumPath, "apt-get install chromium (scripts/setup.sh does)"],
]) {
  if (!existsSync(p)) {
    console.error(`worker_test: the ${what} ${p} is missing: ${hint}`);
    process.exit(1);
  }
}

let chromium;
try {
  ({ chromium } = await import("playwright-core"));
} catch (e) {
  console.error(`worker_test: playwright-core is missing (${e.message}): run npm ci (scripts/setup.sh does)`);
  process.exit(1);
}

// A hang anywhere is a failure, not a stuck CI job.
const deadline = setTimeout(() => {
  console.error("worker_test: FAILED: still running after 10 minutes");
  process.exit(1);
}, 10 * 60 * 1000);
deadline.unref();

// ------------------------------------------------------------------ checks
let failures = 0;
let checks = 0;
function check(name, ok, detail = "") {
  checks++;
  if (ok) return true;
  failures++;
  const text = String(detail);
  console.error(`  FAIL ${name}${text ? `: ${text.length > 1500 ? `${text.slice(0, 1500)}… (${text.length} characters)` : text}` : ""}`);
  return false;
}
function firstDifference(expected, got) {
  let i = 0;
  while (i < expected.length && i < got.length && expected[i] === got[i]) i++;
  const from = Math.max(0, i - 60);
  return `${expected.length} chars native, ${got.length} in the browser, first difference at ${i}\n` +
    `    native:  ${JSON.stringify(expected.slice(from, from + 160))}\n    browser: ${JSON.stringify(got.slice(from, from + 160))}`;
}
function checkSame(name, expected, got) {
  return check(name, expected === got, expected === got ? "" : firstDifference(String(expected), String(got)));
}
function checkEqual(name, expected, got) {
  const a = JSON.stringify(expected);
  const b = JSON.stringify(got);
  return check(name, a === b, `expected ${a}, got ${b}`);
}
function checkMatch(name, pattern, text) {
  return check(name, pattern.test(String(text)), `${JSON.stringify(text)} does not match ${pattern}`);
}
async function section(name, fn) {
  if (only && !name.includes(only)) return;
  const before = failures;
  const t0 = Date.now();
  try {
    await fn();
  } catch (e) {
    check(name, false, `threw ${e && e.stack ? e.stack : e}`);
  }
  const state = failures === before ? "ok  " : "FAIL";
  console.log(`${state} ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}
const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");

// ------------------------------------------------------------------ test data
rmSync(tmp, { recursive: true, force: true });
mkdirSync(tmp, { recursive: true });
const dataDir = path.join(tmp, "data");
mkdirSync(dataDir);
const t0 = Date.now();
// big.db: 2000 traces, about 60 MiB: long enough to cancel an export or search half-way.
const bigDb = path.join(dataDir, "big.db");
execFileSync(gen, ["--out", bigDb, "--traces", "2000", "--seed", "77"]);
for (const [name, seed] of [["changing.db", 5], ["removed.db", 6], ["replacement.db", 8]]) {
  execFileSync(gen, ["--out", path.join(dataDir, name), "--traces", "150", "--seed", String(seed)]);
}
// The native CLI's answers for big.db.
const native = (...args) => execFileSync(cli, ["--db", bigDb, ...args], { maxBuffer: 1 << 28 }).toString("utf8");
const expected = {
  list: native("list", "--json", "--limit", "0"),
  stats: native("stats", "--json"),
  searchWeather: native("search", "weather", "--limit", "0", "--json"),
  searchLimited: native("search", "inference", "--limit", "25", "--json"),
  summary: JSON.parse(native("check", "--json")),
};
native("export", "-o", path.join(tmp, "big.jsonl"), "--format", "otlp-jsonl", "--json");
native("export", "-o", path.join(tmp, "big.json.gz"), "--format", "otlp-json", "--json");
const jsonlBytes = readFileSync(path.join(tmp, "big.jsonl"));
const gzBytes = readFileSync(path.join(tmp, "big.json.gz"));
expected.jsonl = { hash: sha256(jsonlBytes), length: jsonlBytes.length };
expected.gz = { hash: sha256(gzBytes), length: gzBytes.length };
rmSync(path.join(tmp, "big.jsonl"));
rmSync(path.join(tmp, "big.json.gz"));
// A module directory without its .wasm: the module's load must fail with a clear message.
const brokenDir = path.join(tmp, "broken");
mkdirSync(brokenDir);
copyFileSync(modulePath, path.join(brokenDir, "tracedrop.js"));
console.log(`test data: ${((Date.now() - t0) / 1000).toFixed(1)} s`);

const manifest = JSON.parse(readFileSync(path.join(work, "cases.resolved.json"), "utf8"));
// Left out of the shared cases (each covered by a section below instead):
// - the database "missing" stands for a file removed after it was chosen; a browser cannot
//   choose a file that does not exist ("a file changed or removed while open" below);
// - the cancel cases: the native runner's progress callback answers false at its first call;
//   through the worker the cancel comes from the page's thread, which cannot be placed exactly
//   at that call (on a small database the worker may be done before the page sets the flag).
//   The cancel sections cancel long operations half-way instead.
const cases = manifest.cases
  .filter((c) => !manifest.databases[c.db].missing && !c.cancel)
  .map((c) => ({ ...c, fileName: path.basename(manifest.databases[c.db].file) }));
const caseFiles = [...new Set(cases.map((c) => path.join(work, manifest.databases[c.db].file)))];

// ------------------------------------------------------------------ browser
const server = await startServer({
  repo: { dir: root, allow: ["web/", "wasm/js/", "tests/browser/"] },
  module: { dir: path.dirname(modulePath) },
  broken: { dir: brokenDir },
});
const browser = await chromium.launch({
  executablePath: chromiumPath,
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
const moduleName = path.basename(modulePath);
const pageErrors = [];

async function openPage(mode) {
  const page = await browser.newPage();
  page.on("pageerror", (e) => pageErrors.push(`${mode}: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") pageErrors.push(`${mode} console: ${m.text()}`);
  });
  await page.goto(`${server.origin}/${mode}/repo/tests/browser/page.html`);
  await page.waitForFunction(() => window.pageReady === true);
  await page.setInputFiles("#files", [...caseFiles, bigDb, ...["changing.db", "removed.db", "replacement.db"].map((n) => path.join(dataDir, n))]);
  return page;
}

const urls = (mode) => ({
  moduleUrl: `/${mode}/module/${moduleName}`,
  spyUrl: `/${mode}/repo/tests/browser/spy_worker.mjs?tag=`,
});

try {
  await runTests();
} finally {
  await browser.close();
  await server.close();
}
if (pageErrors.length) console.log(`page errors (for information):\n  ${pageErrors.join("\n  ")}`);
if (failures) {
  console.error(`worker_test: FAILED: ${failures} of ${checks} checks`);
  process.exit(1);
}
rmSync(tmp, { recursive: true, force: true }); // kept after a failure, to look at
console.log(`worker_test: ${checks} checks passed`);
process.exit(0);

// ------------------------------------------------------------------ the tests
async function compareCases(label, results) {
  for (const r of results) {
    const base = path.join(work, "out", `${r.name}.${r.mode}`);
    checkSame(`${label} ${r.name} [${r.mode}]`, readFileSync(`${base}.txt`, "utf8"), r.text);
    const c = cases.find((x) => x.name === r.name);
    if (c.op === "export") {
      const bytes = readFileSync(`${base}.export`);
      check(`${label} ${r.name} [${r.mode}] export bytes`, r.exportHash === sha256(bytes) && r.exportLength === bytes.length,
        `${bytes.length} bytes native, ${r.exportLength} in the browser (sha256 ${sha256(bytes)} / ${r.exportHash})`);
    }
    if (r.via !== null && r.size > 0) check(`${label} ${r.name} [${r.mode}] read via ${r.mode}`, r.via === r.mode, `via ${r.via}`);
    check(`${label} ${r.name} [${r.mode}] close`, r.closed);
  }
}

async function runTests() {
  const iso = await openPage("iso");
  const plain = await openPage("plain");
  const I = urls("iso");
  const P = urls("plain");

  await section("isolated page: the worker starts and cancels through a shared flag", async () => {
    const r = await iso.evaluate(async (u) => {
      const c = t.client("main", { moduleUrl: u.moduleUrl, vfs: { blockSize: 8192, cacheBytes: 65536 } });
      return { isolated: t.isolated, ready: await c.ready, mode: c.cancelMode };
    }, I);
    check("page is cross-origin isolated", r.isolated === true);
    if (threadsBuilt) checkEqual("ready, with the threaded module", { ok: true, threads: true, threadsWhy: "" }, r.ready);
    else check("ready, with the single-threaded module (none built)", r.ready.ok === true && r.ready.threads === false, JSON.stringify(r.ready));
    checkEqual("cancel mode", "flag", r.mode);
  });

  // "main" runs the threaded module; "single" the single-threaded one on the same page.
  await section(`shared cases through the worker, bytes and VFS, both modules (${cases.length} cases)`, async () => {
    const ready = await iso.evaluate(async (u) => t.client("single", { moduleUrl: u.moduleUrl, threads: false }).ready, I);
    checkEqual("threads: false loads the single-threaded module", { ok: true, threads: false, threadsWhy: "" }, ready);
    for (const client of ["main", "single"]) {
      for (const mode of ["bytes", "vfs"]) {
        const list = cases.filter((c) => c.modes.includes(mode));
        const results = await iso.evaluate(([cl, l, m]) => t.runCases(cl, l, m), [client, list, mode]);
        check(`all ${mode} cases answered (${client})`, results.length === list.length, `${results.length} of ${list.length}`);
        await compareCases(`case (${client})`, results);
      }
    }
    await iso.evaluate(() => t.clients.get("single").terminate());
  });

  // vfs: the model from one pass over the file in 16 MiB slices, read ahead by the slice
  // reader's worker (the page is cross-origin isolated); vfs-sqlite: the tables read through
  // SQLite and the VFS instead (open option one_pass: false).
  await section("big database through both paths equals the native CLI", async () => {
    for (const mode of ["bytes", "bytes-single", "vfs", "vfs-sync", "vfs-sqlite"]) {
      const r = await iso.evaluate(async ([u, m]) => {
        const c = t.client("big", {
          moduleUrl: u.moduleUrl,
          ...(m === "vfs-sync" ? { readAhead: "sync" } : {}),
          ...(m === "bytes-single" ? { threads: false } : {}),
        });
        const countsBefore = t.parseAnswer(await c.threadCounts());  // after the worker's warm-up
        const openProgress = [];
        const opened = await c.open(t.file("big.db"), {
          ...(!m.startsWith("bytes") ? { bytesLimit: 1 << 20 } : {}),
          ...(m === "vfs-sqlite" ? { options: { one_pass: false } } : {}),
          onProgress: (p) => { openProgress.push(p); },
        });
        const idleAfterOpen = t.parseAnswer(await c.threadCounts()).idle;
        const list = await c.traceList({ limit: 0 });
        const stats = await c.stats();
        const searchProgress = [];
        const weather = await c.search("weather", { limit: 0, onProgress: (p) => { searchProgress.push(p); } });
        const limited = await c.search("inference", { limit: 25 });
        const exportProgress = [];
        const jsonl = await c.export({ format: "otlp-jsonl" }, { onProgress: (p) => { exportProgress.push(p); } });
        const jsonlBytes = jsonl.ok ? new Uint8Array(await jsonl.blob.arrayBuffer()) : new Uint8Array(0);
        const gz = await c.export({ format: "otlp-json", gzip: true });
        const gzBytes = gz.ok ? new Uint8Array(await gz.blob.arrayBuffer()) : new Uint8Array(0);
        const fileStats = t.parseAnswer(await c.fileStats());
        const countsAfter = t.parseAnswer(await c.threadCounts());
        const threadCounts = { threads: countsAfter.threads, started: countsAfter.started - countsBefore.started,
          refused: countsAfter.refused - countsBefore.refused, pool: countsAfter.pool, idleBefore: countsBefore.idle,
          idleAfterOpen, idleAtEnd: countsAfter.idle };
        c.terminate();
        const value = (a) => (a.ok ? a.value : t.errorText(a));
        return {
          opened, openProgress, list: value(list), stats: value(stats), weather: value(weather), limited: value(limited),
          searchProgress, exportProgress, jsonlSummary: value(jsonl), jsonlType: jsonl.blob?.type,
          jsonl: { hash: await t.sha256(jsonlBytes), length: jsonlBytes.length },
          gz: { hash: await t.sha256(gzBytes), length: gzBytes.length }, gzType: gz.blob?.type, fileStats, threadCounts,
        };
      }, [I, mode]);
      const label = `big.db [${mode}]`;
      if (!check(`${label} opens`, r.opened.ok, JSON.stringify(r.opened))) continue;
      const bytesMode = mode.startsWith("bytes");
      checkEqual(`${label} read via`, bytesMode ? "bytes" : "vfs", r.opened.via);
      // The threaded module's helper threads ran for this file (bytes: the model build's two
      // table readers and the export's renderer; both: gzip's compressor), none refused; the
      // single-threaded module has none.
      // Through the VFS in one pass the pool's workers are stopped for the open (the pass has
      // no threads) and started again for the exports.
      if (mode === "bytes-single" || !threadsBuilt) {
        checkEqual(`${label} no threads`, { threads: false, started: 0, refused: 0, pool: 0, idleBefore: 0, idleAfterOpen: 0, idleAtEnd: 0 },
          r.threadCounts);
      } else {
        const tc = r.threadCounts;
        check(`${label} helper threads ran, none refused`, tc.threads === true && tc.pool === 3 &&
          tc.started >= (mode === "bytes" ? 3 : 1) && tc.refused === 0, JSON.stringify(tc));
        checkEqual(`${label} pool workers idle: before, after the open, at the end`,
          [3, mode === "vfs" || mode === "vfs-sync" ? 0 : 3, 3], [tc.idleBefore, tc.idleAfterOpen, tc.idleAtEnd]);
      }
      if (bytesMode) {
        // Copied into wasm memory from the slice reader's 1 MiB slices (read from the stream).
        checkEqual(`${label} slices read ahead by the slice reader`, [Math.ceil(expected.summary.size_bytes / (1 << 20)), "stream"],
          [r.opened.readAhead, r.opened.readAheadWith]);
      }
      if (mode === "vfs" || mode === "vfs-sync") {
        // 60 MiB in 1 MiB slices (SLICE_BYTES): all read ahead by the worker (from the File's
        // stream, or with FileReaderSync when asked), and the pass read the file once.
        checkEqual(`${label} slices read ahead by the slice reader`,
          [Math.ceil(expected.summary.size_bytes / (1 << 20)), mode === "vfs" ? "stream" : "sync"],
          [r.opened.readAhead, r.opened.readAheadWith]);
        checkEqual(`${label} the one pass read the whole file`, expected.summary.size_bytes, r.fileStats.pass_bytes);
      }
      if (mode === "vfs-sqlite") {
        checkEqual(`${label} no one pass, nothing read ahead`, [0, "", 0], [r.opened.readAhead, r.opened.readAheadWith, r.fileStats.pass_bytes]);
      }
      const summary = JSON.parse(r.opened.value);
      checkEqual(`${label} summary counts as check --json`,
        [expected.summary.traces, expected.summary.spans, expected.summary.events, expected.summary.size_bytes, expected.summary.warnings.length],
        [summary.traces, summary.spans, summary.events, summary.file_size, summary.warnings.length]);
      check(`${label} open progress arrived`, r.openProgress.length >= 1 && r.openProgress.at(-1).fraction === 1,
        JSON.stringify(r.openProgress));
      checkSame(`${label} list --json --limit 0`, expected.list, r.list);
      checkSame(`${label} stats --json`, expected.stats, r.stats);
      checkSame(`${label} search weather --limit 0 --json`, expected.searchWeather, r.weather);
      checkSame(`${label} search inference --limit 25 --json`, expected.searchLimited, r.limited);
      const fractions = r.searchProgress.map((p) => p.fraction);
      check(`${label} search progress arrived, rising to 1`, fractions.length >= 2 && fractions.at(-1) === 1 &&
        fractions.every((f, i) => f >= 0 && f <= 1 && (i === 0 || f >= fractions[i - 1])), JSON.stringify(fractions));
      const done = r.exportProgress.map((p) => p.done);
      check(`${label} export progress arrived, rising to the total`, done.length >= 2 &&
        r.exportProgress.every((p, i) => p.total === 2000 && (i === 0 || p.done > done[i - 1])) && done.at(-1) === 2000,
        `${done.length} messages, last ${JSON.stringify(r.exportProgress.at(-1))}`);
      checkEqual(`${label} export otlp-jsonl bytes equal the CLI's`, expected.jsonl, r.jsonl);
      checkEqual(`${label} export otlp-jsonl blob type`, "application/x-ndjson", r.jsonlType);
      checkEqual(`${label} export summary bytes`, expected.jsonl.length, JSON.parse(r.jsonlSummary).bytes);
      checkEqual(`${label} export otlp-json gzip bytes equal the CLI's`, expected.gz, r.gz);
      checkEqual(`${label} export gzip blob type`, "application/gzip", r.gzType);
      if (!bytesMode) check(`${label} pages were read from the File`, r.fileStats.reads > 0 && r.fileStats.bytes_loaded > 0, JSON.stringify(r.fileStats));
      else checkEqual(`${label} no VFS reads`, 0, r.fileStats.reads);
    }
  });

  await section("large results move as transferred buffers", async () => {
    const r = await iso.evaluate(async (u) => {
      const c = t.client("xfer", { moduleUrl: u.moduleUrl, workerUrl: u.spyUrl + "xfer" });
      const opened = await c.open(t.file("big.db"));
      await t.spy("xfer", { op: "log" }); // forget the open
      const summary = await c.summary();
      const afterSummary = (await t.spy("xfer", { op: "log" })).log;
      const list = await c.traceList({ limit: 0 });
      const afterList = (await t.spy("xfer", { op: "log" })).log;
      const chunks = [];
      const exported = await c.export({ format: "otlp-jsonl" }, { onChunk: (b) => chunks.push(b) });
      const afterExport = (await t.spy("xfer", { op: "log" })).log;
      c.terminate();
      return {
        opened: opened.ok, summaryOk: summary.ok, afterSummary, listLength: list.ok ? list.value.length : -1,
        afterList, exported: exported.ok ? JSON.parse(exported.value) : exported, afterExport,
        chunks: chunks.map((b) => ({
          u8: b instanceof Uint8Array, own: b.byteOffset === 0 && b.buffer.byteLength === b.byteLength, length: b.byteLength,
        })),
      };
    }, I);
    check("opened", r.opened);
    check("a small answer is posted as a string (no transfer)", r.summaryOk && r.afterSummary.length === 0, JSON.stringify(r.afterSummary));
    check("the 750 KB trace list was transferred as bytes (buffer detached in the worker)",
      r.listLength === expected.list.length && r.afterList.length === 1 && r.afterList[0].type === "result" &&
      r.afterList[0].after.length === 1 && r.afterList[0].after[0] === 0, JSON.stringify(r.afterList));
    const chunkPosts = r.afterExport.filter((e) => e.type === "chunk");
    check("every export chunk was transferred (detached in the worker)", chunkPosts.length === r.chunks.length &&
      chunkPosts.length > 10 && chunkPosts.every((e) => e.after.length === 1 && e.after[0] === 0),
      `${chunkPosts.length} transfers for ${r.chunks.length} chunks: ${JSON.stringify(chunkPosts.slice(0, 3))}`);
    check("chunks arrive as Uint8Arrays over their own buffers", r.chunks.every((c) => c.u8 && c.own));
    checkEqual("chunks add up to the export", expected.jsonl.length, r.chunks.reduce((n, c) => n + c.length, 0));
    checkEqual("export summary bytes", expected.jsonl.length, r.exported.bytes);
    check("chunks are about 1 MiB", r.chunks.slice(0, -1).every((c) => c.length >= 1 << 20 && c.length < (1 << 20) + (1 << 18)),
      JSON.stringify(r.chunks.slice(0, 4)));
  });

  // Opens big.db through the VFS with attributes read on demand: search and export then read
  // the File as they go (the slowest path, so a cancel surely lands half-way).
  const cancelExportAndSearch = async (page, u, label, mode) => {
    const r = await page.evaluate(async ([u, name]) => {
      const c = t.client(name, { moduleUrl: u.moduleUrl });
      const opened = await c.open(t.file("big.db"), { bytesLimit: 0, attributes: "on-demand" });
      const result = { opened: opened.ok, mode: c.cancelMode };
      // Export: cancelled at its first progress message.
      let ac = new AbortController();
      const progress = [];
      let bytes = 0;
      let chunksAfterAnswer = 0;
      let answered = false;
      const t0 = performance.now();
      result.exported = await c.export({ format: "otlp-jsonl" }, {
        signal: ac.signal,
        onProgress: (p) => { progress.push(p); ac.abort(); },
        onChunk: (b) => { bytes += b.byteLength; if (answered) chunksAfterAnswer++; },
      });
      answered = true;
      result.exportMs = performance.now() - t0;
      result.exportProgress = progress.slice();
      result.exportBytes = bytes;
      await new Promise((r) => setTimeout(r, 300));
      result.chunksAfterAnswer = chunksAfterAnswer;
      result.progressAfterAnswer = progress.length - result.exportProgress.length;
      result.statsAfterExport = await c.stats();
      // Search: cancelled at its first progress message.
      ac = new AbortController();
      const fractions = [];
      result.searched = await c.search("weather", { limit: 0, signal: ac.signal, onProgress: (p) => { fractions.push(p.fraction); ac.abort(); } });
      result.searchProgress = fractions;
      result.searchAfter = await c.search("weather", { limit: 0 });
      result.listAfter = await c.traceList({ limit: 0 });
      result.restarts = t.restarts.get(name);
      c.terminate();
      return result;
    }, [u, label]);
    check(`${label}: opened`, r.opened);
    checkEqual(`${label}: cancel mode`, mode, r.mode);
    const value = (a) => (a.ok ? a.value : `error ${a.name}: ${a.message}`);
    check(`${label}: export answers cancelled`, !r.exported.ok && r.exported.code === 34 && r.exported.name === "cancelled",
      JSON.stringify(r.exported));
    if (mode === "flag") checkEqual(`${label}: the core's own message`, "Export cancelled.", r.exported.message);
    else checkMatch(`${label}: the restart is said`, /worker was stopped and a new one started; the file is being reopened/, r.exported.message);
    const last = r.exportProgress.at(-1);
    check(`${label}: export stopped half-way`, last && last.done < last.total && r.exportBytes < expected.jsonl.length,
      `last progress ${JSON.stringify(last)}, ${r.exportBytes} of ${expected.jsonl.length} bytes, ${r.exportMs.toFixed(0)} ms`);
    console.log(`  ${label}: export cancelled at trace ${last?.done} of ${last?.total}, ${r.exportBytes} bytes, ` +
      `${r.exportMs.toFixed(0)} ms; search cancelled at ${r.searchProgress.at(-1)}`);
    check(`${label}: nothing arrives after the answer`, r.chunksAfterAnswer === 0 && r.progressAfterAnswer === 0,
      `${r.chunksAfterAnswer} chunks, ${r.progressAfterAnswer} progress messages`);
    checkSame(`${label}: stats after the cancelled export`, expected.stats, value(r.statsAfterExport));
    check(`${label}: search answers cancelled`, !r.searched.ok && r.searched.name === "cancelled", JSON.stringify(r.searched));
    if (mode === "flag") checkEqual(`${label}: the core's own message`, "Search was cancelled.", r.searched.message);
    check(`${label}: search stopped half-way`, r.searchProgress.length >= 1 && r.searchProgress[0] < 1, JSON.stringify(r.searchProgress));
    checkSame(`${label}: the same search afterwards`, expected.searchWeather, value(r.searchAfter));
    checkSame(`${label}: list afterwards`, expected.list, value(r.listAfter));
    if (mode === "flag") checkEqual(`${label}: the worker was not restarted`, [], r.restarts);
    else checkEqual(`${label}: the worker was restarted twice, reopening the file`,
      [{ reason: "cancel", reopening: true }, { reason: "cancel", reopening: true }], r.restarts);
  };

  await section("isolated: cancelling an export and a search stops them; the file stays open", () =>
    cancelExportAndSearch(iso, I, "cancel-flag", "flag"));

  await section("isolated: cancelling an open, a queued request and an endless SQL query", async () => {
    const r = await iso.evaluate(async (u) => {
      const c = t.client("cancel2", { moduleUrl: u.moduleUrl });
      const out = {};
      await c.ready; // (before it, requests wait in the client: see "queued" below)
      // An open cancelled as soon as it was sent. (The core reports open progress every 65,536
      // rows and at the end: big.db's first report is its last, too late to cancel half-way.)
      let ac = new AbortController();
      const opening0 = c.open(t.file("big.db"), { signal: ac.signal });
      ac.abort();
      out.open = await opening0;
      out.summaryAfterCancelledOpen = await c.summary();
      ac = new AbortController();
      const opening1 = c.open(t.file("big.db"), { signal: ac.signal, bytesLimit: 0 });
      ac.abort();
      out.openVfs = await opening1;
      // A request cancelled while another runs never reaches the worker.
      ac = new AbortController();
      const opening = c.open(t.file("standard.db"));
      const queued = c.search("weather", { signal: ac.signal });
      ac.abort();
      out.queued = await queued;
      out.reopened = await opening;
      // A statement that never ends: SQLite reports no progress, so the worker is restarted
      // (even with the shared flag) and the file reopened.
      ac = new AbortController();
      const endless = c.sql("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n", { signal: ac.signal });
      setTimeout(() => ac.abort(), 500);
      out.endless = await endless;
      out.summaryAfter = await c.summary();
      out.restarts = t.restarts.get("cancel2");
      // An already aborted signal: answered at once, nothing sent.
      out.preAborted = await c.search("weather", { signal: AbortSignal.abort() });
      c.terminate();
      return out;
    }, I);
    checkEqual("open answers cancelled", { ok: false, code: 34, name: "cancelled", message: "Loading was cancelled." }, r.open);
    checkEqual("so does an open through the VFS", { ok: false, code: 34, name: "cancelled", message: "Loading was cancelled." }, r.openVfs);
    check("no file is open after the cancelled open", !r.summaryAfterCancelledOpen.ok &&
      /no database is open/.test(r.summaryAfterCancelledOpen.message), JSON.stringify(r.summaryAfterCancelledOpen));
    checkEqual("a queued request cancelled before it started",
      { ok: false, code: 34, name: "cancelled", message: "Cancelled before it started." }, r.queued);
    check("the request before it still answers", r.reopened.ok, JSON.stringify(r.reopened));
    check("the endless query answers cancelled", !r.endless.ok && r.endless.name === "cancelled" &&
      /the file is being reopened/.test(r.endless.message), JSON.stringify(r.endless));
    checkSame("the file was reopened after the restart", r.reopened.ok ? r.reopened.value : "", r.summaryAfter.ok ? r.summaryAfter.value : JSON.stringify(r.summaryAfter));
    checkEqual("one restart", [{ reason: "cancel", reopening: true }], r.restarts);
    checkEqual("an already aborted signal", { ok: false, code: 34, name: "cancelled", message: "Cancelled before it started." }, r.preAborted);
  });

  await section("bad input gives clear messages", async () => {
    const r = await iso.evaluate(async (u) => {
      const c = t.client("bad", { moduleUrl: u.moduleUrl });
      const out = {};
      out.noFile = await c.stats();
      out.notAFile = await c.open("trace_store.db");
      out.notSqlite = await c.open(t.file("not-sqlite.db"));
      out.empty = await c.open(t.file("empty.db"));
      out.emptyVfs = await c.open(t.file("empty.db"), { bytesLimit: 0 });
      out.jsonFile = await c.open(t.file("json-file.db"), { bytesLimit: 0 });
      out.badTz = await c.open(t.file("standard.db"), { naiveTz: "two hours" });
      await c.open(t.file("standard.db"));
      out.badText = await c.search(42);
      out.badLimit = await c.search("x", { limit: "ten" });
      out.badList = await c.traceList("{limit: 3");
      out.stillWorks = await c.summary();
      c.terminate();
      return out;
    }, I);
    const nativeOpen = (db) => readFileSync(path.join(work, "out", `open-${db}.bytes.txt`), "utf8");
    check("a request before any file", !r.noFile.ok && r.noFile.message === "no database is open: open a file first.", JSON.stringify(r.noFile));
    checkEqual("not a File", { ok: false, code: 30, name: "invalid_argument", message: "open needs a File (or a Blob) to read." }, r.notAFile);
    checkSame("not a SQLite file (the native message)", nativeOpen("not-sqlite"), `open error ${r.notSqlite.code} ${r.notSqlite.name}\n${r.notSqlite.message}\n`);
    checkSame("an empty file (the native message)", nativeOpen("empty"), `open error ${r.empty.code} ${r.empty.name}\n${r.empty.message}\n`);
    checkSame("an empty file through the VFS limit", nativeOpen("empty"), `open error ${r.emptyVfs.code} ${r.emptyVfs.name}\n${r.emptyVfs.message}\n`);
    checkSame("a JSON file through the VFS", nativeOpen("json-file"), `open error ${r.jsonFile.code} ${r.jsonFile.name}\n${r.jsonFile.message}\n`);
    check("a bad open option", !r.badTz.ok && r.badTz.name === "invalid_argument" && /naive_tz/.test(r.badTz.message), JSON.stringify(r.badTz));
    checkEqual("a search text that is not a string",
      { ok: false, code: 30, name: "invalid_argument", message: "search: text must be a string" }, r.badText);
    checkEqual("a limit that is not a number",
      { ok: false, code: 30, name: "invalid_argument", message: "search: limit must be a number" }, r.badLimit);
    check("malformed JSON options (the module's message)", !r.badList.ok && r.badList.name === "invalid_argument", JSON.stringify(r.badList));
    check("the worker keeps working", r.stillWorks.ok);
  });

  await section("a file changed or removed while open through the VFS: a clear io_error", async () => {
    const opened = await iso.evaluate(async (u) => {
      // Two 4 KiB blocks of cache: nearly every read goes to the File.
      const c = t.client("io", { moduleUrl: u.moduleUrl, vfs: { blockSize: 4096, cacheBytes: 8192 } });
      const a = await c.open(t.file("changing.db"), { bytesLimit: 0, attributes: "on-demand" });
      const search = await c.search("weather", { limit: 0 });
      return { a, search };
    }, I);
    check("changing.db opens through the VFS", opened.a.ok && opened.a.via === "vfs", JSON.stringify(opened.a));
    check("and can be searched", opened.search.ok, JSON.stringify(opened.search));
    // Replace the file's content on disk (another database of another size).
    writeFileSync(path.join(dataDir, "changing.db"), readFileSync(path.join(dataDir, "replacement.db")));
    const changed = await iso.evaluate(async () => {
      const c = t.clients.get("io");
      const search = await c.search("weather", { limit: 0 });
      const summary = await c.summary();
      const b = await c.open(t.file("removed.db"), { bytesLimit: 0, attributes: "on-demand" });
      return { search, summary, b };
    });
    const io = /^The file changed or was removed after it was chosen \((NotReadableError|NotFoundError): .*\), so it can no longer be read consistently\. Drop the file again to reopen it\.$/;
    check("a search after the change answers io_error", !changed.search.ok && changed.search.code === 18 &&
      changed.search.name === "io_error", JSON.stringify(changed.search));
    checkMatch("with the reason", io, changed.search.message);
    check("and so does every later request", !changed.summary.ok && changed.summary.name === "io_error", JSON.stringify(changed.summary));
    check("removed.db opens through the VFS", changed.b.ok, JSON.stringify(changed.b));
    unlinkSync(path.join(dataDir, "removed.db"));
    const removed = await iso.evaluate(async () => {
      const c = t.clients.get("io");
      const sql = await c.sql("SELECT count(*), sum(length(attributes)) FROM spans");
      const again = await c.open(t.file("standard.db"), { bytesLimit: 0 });
      const stats = await c.stats();
      c.terminate();
      return { sql, again, stats };
    });
    console.log(`  after the change: ${changed.search.message}\n  after the removal: ${removed.sql.message}`);
    check("a query after the removal answers io_error", !removed.sql.ok && removed.sql.name === "io_error", JSON.stringify(removed.sql));
    checkMatch("naming NotFoundError", /\(NotFoundError: /, removed.sql.message);
    checkMatch("with the reason", io, removed.sql.message);
    check("another file opens afterwards", removed.again.ok, JSON.stringify(removed.again));
    checkSame("and answers as natively", readFileSync(path.join(work, "out", "stats-standard.vfs.txt"), "utf8"),
      removed.stats.ok ? removed.stats.value : JSON.stringify(removed.stats));
  });

  await section("a crashed worker or module gives a clear message and a new worker", async () => {
    const r = await iso.evaluate(async (u) => {
      const c = t.client("crash", { moduleUrl: u.moduleUrl, workerUrl: u.spyUrl + "crash" });
      const out = {};
      out.opened = await c.open(t.file("standard.db"));
      out.summary = await c.summary();
      await t.spy("crash", { op: "failNextCall", method: "stats" });
      out.trapped = await c.stats();
      out.afterTrap = await c.summary();
      await t.spy("crash", { op: "crashOnNextRequest" });
      out.crashed = await c.stats();
      out.afterCrash = await c.stats();
      out.restarts = t.restarts.get("crash");
      c.terminate();
      return out;
    }, I);
    check("opened", r.opened.ok);
    check("a trapping module answers worker_failed", !r.trapped.ok && r.trapped.code === 40 && r.trapped.name === "worker_failed", JSON.stringify(r.trapped));
    checkEqual("saying what failed", "The WebAssembly module failed during stats (RuntimeError: unreachable (spy)) and was stopped.", r.trapped.message);
    checkSame("a new worker reopened the file", r.summary.value, r.afterTrap.ok ? r.afterTrap.value : JSON.stringify(r.afterTrap));
    check("an uncaught error in the worker answers worker_failed", !r.crashed.ok && r.crashed.name === "worker_failed", JSON.stringify(r.crashed));
    checkMatch("with the error", /spy: the worker crashed/, r.crashed.message);
    checkSame("and the next request is answered by a new worker", readFileSync(path.join(work, "out", "stats-standard.bytes.txt"), "utf8"),
      r.afterCrash.ok ? r.afterCrash.value : JSON.stringify(r.afterCrash));
    checkEqual("two restarts, each reopening", [{ reason: "crash", reopening: true }, { reason: "crash", reopening: true }], r.restarts);
  });

  await section("a worker or module that cannot load: a clear message, no hang", async () => {
    const r = await iso.evaluate(async (u) => {
      const out = {};
      const timed = (p) => Promise.race([p, new Promise((res) => setTimeout(() => res({ hung: true }), 20000))]);
      let c = t.client("noworker", { moduleUrl: u.moduleUrl, workerUrl: "/iso/repo/web/no-such-worker.mjs" });
      out.noWorkerReady = await timed(c.ready);
      out.noWorkerStats = await timed(c.stats());
      c.terminate();
      // (In a directory without the threaded module either: that is tried first, then this.)
      c = t.client("nojs", { moduleUrl: "/iso/broken/no-such-module.js" });
      out.noJsReady = await timed(c.ready);
      out.noJsOpen = await timed(c.open(t.file("standard.db")));
      c.terminate();
      c = t.client("nowasm", { moduleUrl: "/iso/broken/tracedrop.js" });
      out.noWasmReady = await timed(c.ready);
      c.terminate();
      // The threaded module missing: the single-threaded one instead, saying why.
      c = t.client("nomt", { moduleUrl: u.moduleUrl, threadedModuleUrl: "/iso/broken/tracedrop_mt.js" });
      out.noMtReady = await timed(c.ready);
      out.noMtOpen = await timed(c.open(t.file("standard.db")));
      out.noMtCounts = await timed(c.threadCounts());
      c.terminate();
      return out;
    }, I);
    const failed = (a) => a && a.ok === false && a.code === 40 && a.name === "worker_failed";
    check("a missing worker script", failed(r.noWorkerReady), JSON.stringify(r.noWorkerReady));
    checkMatch("says the script could not be loaded", /worker \(.*no-such-worker\.mjs\) failed.*could not be loaded/, r.noWorkerReady.message);
    check("a request then fails the same way", failed(r.noWorkerStats), JSON.stringify(r.noWorkerStats));
    check("a missing module script", failed(r.noJsReady), JSON.stringify(r.noJsReady));
    checkMatch("says the module could not be loaded", /WebAssembly module could not be loaded from .*no-such-module\.js/, r.noJsReady.message);
    check("an open then fails the same way", failed(r.noJsOpen), JSON.stringify(r.noJsOpen));
    check("a missing .wasm", failed(r.noWasmReady), JSON.stringify(r.noWasmReady));
    checkMatch("says the module could not be loaded", /WebAssembly module could not be loaded from .*broken\/tracedrop\.js/, r.noWasmReady.message);
    check("a missing threaded module: ready with the single-threaded one", r.noMtReady.ok === true && r.noMtReady.threads === false,
      JSON.stringify(r.noMtReady));
    checkMatch("saying why", /^the threaded module could not be loaded \(.*broken\/tracedrop_mt\.worker\.js: HTTP 404/, r.noMtReady.threadsWhy);
    check("and it opens files", r.noMtOpen.ok === true, JSON.stringify(r.noMtOpen));
    checkEqual("single-threaded", { threads: false, started: 0, refused: 0, pool: 0, idle: 0 },
      r.noMtCounts.ok ? JSON.parse(r.noMtCounts.value) : r.noMtCounts);
  });

  await section("page without cross-origin isolation: the client works, cancel restarts the worker", async () => {
    const r = await plain.evaluate(async (u) => {
      const c = t.client("main", { moduleUrl: u.moduleUrl });
      return { isolated: t.isolated, ready: await c.ready, mode: c.cancelMode };
    }, P);
    check("page is not isolated", r.isolated === false);
    check("ready, with the single-threaded module", r.ready.ok === true && r.ready.threads === false, JSON.stringify(r.ready));
    checkMatch("saying why", /^the page is not cross-origin isolated/, r.ready.threadsWhy);
    checkEqual("cancel mode", "restart", r.mode);
    const open = await plain.evaluate(async () => {
      // Cancelling an open half-way: the worker is stopped, nothing is reopened.
      const c = t.clients.get("main");
      const ac = new AbortController();
      const opening = c.open(t.file("big.db"), { signal: ac.signal });
      setTimeout(() => ac.abort(), 30);
      const opened = await opening;
      return { opened, summary: await c.summary(), restarts: t.restarts.get("main") };
    });
    checkEqual("an open cancelled half-way", { ok: false, code: 34, name: "cancelled",
      message: "Cancelled: the worker was stopped and a new one started." }, open.opened);
    check("no file is open afterwards", !open.summary.ok && /no database is open/.test(open.summary.message), JSON.stringify(open.summary));
    checkEqual("one restart, nothing to reopen", [{ reason: "cancel", reopening: false }], open.restarts);
    const list = cases.filter((c) => c.modes.includes("bytes"));
    const results = await plain.evaluate(([l]) => t.runCases("main", l, "bytes"), [list]);
    await compareCases("plain case", results);
    await plain.evaluate(() => t.clients.get("main").terminate());
    await cancelExportAndSearch(plain, P, "cancel-restart", "restart");
  });
}
