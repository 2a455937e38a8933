// The wasm benchmark under Node (issue 4): tracedrop's WebAssembly module against sql.js doing
// the same work, with the native core measured in the same run as the reference for the
// "wasm within 2x of native" ratios. Every side runs in its own fresh process per repetition,
// so each process's peak memory (VmHWM) is its own; every figure is the median.
//
//   node bench/wasm/wasm_bench.mjs --db bench/data/traces-10k-seed1.db [--repeat 3]
//        [--sides native,ours-bytes,ours-vfs,sqljs] [--json] [--out results.json]
//        [--module build/wasm/wasm/tracedrop_mt.js]   (the threaded module instead)
//        [--warm-up 3000]   (before the 1st pass, the module builds models of a made-up database
//                            of that many spans 6 times, as the viewer's worker does after loading)
//
// Sides:
//   native      build/release/bench/tracedrop-bench's own child sessions (--child ours,
//               --child export-ours.otlp-json, --child export-ours.jaeger) and the wall time
//               of `tracedrop --db X list --json --limit 20` as a process
//   ours-bytes  the module (build/wasm/wasm/tracedrop.js) with the whole file read straight
//               into wasm memory in 16 MiB slices (fs.readSync) and opened as bytes
//               (Session.openCopied), as the browser does <= 256 MiB
// Exports on both sides go to 1 MiB chunks that are counted and dropped: natively a ChunkSink
// (tracedrop-bench --child export-ours-chunks.FORMAT), in the module the same ChunkSink handing
// each chunk to JavaScript as a view of wasm memory (exportTraces {copy: false}).
//   ours-vfs    the module reading pages on demand through Session.openFile(nodeFileSource),
//               as the browser does above 256 MiB (FileReaderSync there, fs.readSync here)
//   sqljs       the sql.js npm package (node_modules/sql.js, 1.16.0): bench/wasm/sessions.mjs
//
// See bench/README.md ("WebAssembly and sql.js") for what each figure means.
import { spawn } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

import { EXPORT_FORMATS, NEEDLES, runOurs, runSqljs, SCAN_FLOOR_SQL, timedSource } from "./sessions.mjs";
import { fmt, loadAverage, mb, medians, procStatus, rate, ratio, warmPageCache } from "./util.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const ALL_SIDES = ["native", "ours-bytes", "ours-vfs", "sqljs"];

function parseArgs(argv) {
  const args = {
    db: null,
    repeat: 3,
    sides: ALL_SIDES,
    json: false,
    out: null,
    child: null,
    open: null,
    passes: 2,
    warmUp: 0,
    module: path.join(root, "build/wasm/wasm/tracedrop.js"),
    native: path.join(root, "build/release"),
  };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--db") args.db = path.resolve(value());
    else if (a === "--repeat") args.repeat = Number(value());
    else if (a === "--sides") args.sides = value().split(",").filter(Boolean);
    else if (a === "--json") args.json = true;
    else if (a === "--out") args.out = path.resolve(value());
    else if (a === "--module") args.module = path.resolve(value());
    else if (a === "--native") args.native = path.resolve(value());
    else if (a === "--child") args.child = value();
    else if (a === "--open") args.open = value();
    else if (a === "--passes") args.passes = Number(value());
    else if (a === "--warm-up") args.warmUp = Number(value());
    else if (a === "-h" || a === "--help") usage();
    else usage(`unknown argument: ${a}`);
  }
  if (!args.db) usage("--db is required");
  if (!(args.repeat >= 1 && args.repeat <= 100)) usage("--repeat needs a number from 1 to 100");
  if (!(args.passes >= 1 && args.passes <= 10)) usage("--passes needs a number from 1 to 10");
  for (const s of args.sides) if (!ALL_SIDES.includes(s)) usage(`unknown side: ${s}`);
  return args;
}

function usage(message) {
  const text = readFileSync(fileURLToPath(import.meta.url), "utf8").split("\n").slice(5, 8).join("\n");
  if (message) console.error(`wasm_bench: ${message}`);
  console.error(text.replace(/^\/\/ ?/gm, ""));
  process.exit(message ? 2 : 0);
}

// ------------------------------------------------------------------------------ child side

async function nodeCheckpoint() {
  const st = procStatus();
  const mu = process.memoryUsage();
  return { vm_hwm_kb: st.VmHWM, vm_rss_kb: st.VmRSS, rss_anon_kb: st.RssAnon, array_buffers: mu.arrayBuffers };
}

// The session `args.passes` times in this process: the first pass runs the module as a page
// gets it right after loading (V8 starts wasm functions in its baseline compiler, Liftoff, and
// moves hot ones to TurboFan while they run), the later passes with the hot code optimised.
// Memory peaks are read during the first pass.
async function passes(side, args, load_ms, run) {
  const out = { side, load_ms, passes: [] };
  for (let i = 0; i < args.passes; i++) {
    const result = await run();
    out.passes.push(result);
    if (i === 0) out.peak_first_pass = procStatus();
    if (result.error) {
      out.error = `pass ${i + 1}: ${result.error}`;
      break;
    }
  }
  out.peak = procStatus();
  return out;
}

async function runChild(args) {
  const t0 = performance.now();
  if (args.child === "ours") {
    const { loadTracedrop, nodeFileSource, Session } = await import(
      pathToFileURL(path.join(root, "wasm/js/tracedrop.mjs")).href
    );
    const td = await loadTracedrop({ moduleUrl: pathToFileURL(args.module) });
    const load_ms = performance.now() - t0;
    if (args.warmUp > 0) {
      const w = td.warmUp(args.warmUp, 6);  // web/worker.mjs: WARM_UP_SPANS, WARM_UP_ROUNDS
      if (!w.ok) throw new Error(`warm-up: ${w.message}`);
    }
    const name = path.basename(args.db);
    const open = async (session) => {
      if (args.open === "bytes") {
        // As the viewer's worker does (Session.openDropped): the file read in slices straight
        // into wasm memory (openCopied); the time inside read() is the file's read.
        const { source, io } = timedSource(await nodeFileSource(args.db));
        const result = session.openCopied(source, name);
        source.close();
        return { result, read_ms: io.ms };
      }
      const { source, io } = timedSource(await nodeFileSource(args.db));
      return { result: session.openFile(source, name), io };
    };
    return passes(`ours-${args.open}`, args, load_ms, () => runOurs({ td, Session, open, checkpoint: nodeCheckpoint, exportCopies: false }));
  }
  if (args.child === "sqljs") {
    const initSqlJs = createRequire(path.join(root, "package.json"))("sql.js");
    const SQL = await initSqlJs();
    const load_ms = performance.now() - t0;
    const readBytes = async () => new Uint8Array(readFileSync(args.db));
    return passes("sqljs", args, load_ms, () => runSqljs({ SQL, readBytes, checkpoint: nodeCheckpoint }));
  }
  throw new Error(`unknown child: ${args.child}`);
}

// ----------------------------------------------------------------------------- parent side

function runProcess(command, argv, { capture = true, timeoutMs = 20 * 60 * 1000 } = {}) {
  return new Promise((resolve) => {
    const t = process.hrtime.bigint();
    const child = spawn(command, argv, { stdio: ["ignore", capture ? "pipe" : "ignore", "pipe"] });
    let stdout = "";
    let stderr = "";
    if (capture) child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, wall_ms: Number(process.hrtime.bigint() - t) / 1e6 });
    });
  });
}

function lastJson(text) {
  const lines = text.trim().split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      return JSON.parse(lines[i]);
    } catch {
      // not the summary line
    }
  }
  return null;
}

function failure(run) {
  const tail = run.stderr.trim().split("\n").slice(-4).join(" | ");
  return `exit ${run.code ?? run.signal}${tail ? `: ${tail}` : ""}`;
}

async function nodeSide(args, side) {
  const argv = [
    "--max-old-space-size=8192",
    fileURLToPath(import.meta.url),
    "--db",
    args.db,
    "--module",
    args.module,
    "--passes",
    String(args.passes),
    "--warm-up",
    String(args.warmUp),
  ];
  if (side === "sqljs") argv.push("--child", "sqljs");
  else argv.push("--child", "ours", "--open", side === "ours-bytes" ? "bytes" : "vfs");
  const run = await runProcess(process.execPath, argv);
  const out = lastJson(run.stdout);
  if (!out) return { side, error: failure(run) };
  if (out.error && out.passes?.length && !out.passes[0].error) {
    // A later pass failed: keep the first pass, report the failure.
    out.warm_error = out.error;
    delete out.error;
  }
  out.process_wall_ms = run.wall_ms;
  return out;
}

async function nativeSide(args) {
  const bench = path.join(args.native, "bench/tracedrop-bench");
  const cli = path.join(args.native, "cli/tracedrop");
  const result = { side: "native" };
  const session = await runProcess(bench, ["--child", "ours", "--db", args.db]);
  const ours = lastJson(session.stdout);
  if (!ours || ours.error) return { side: "native", error: ours?.error ?? failure(session) };
  result.session = ours;
  for (const format of EXPORT_FORMATS) {
    const run = await runProcess(bench, ["--child", `export-ours-chunks.${format}`, "--db", args.db]);
    const doc = lastJson(run.stdout);
    if (!doc || doc.error) return { side: "native", error: `export ${format}: ${doc?.error ?? failure(run)}` };
    result[`export.${format}`] = doc;
  }
  const cliRun = await runProcess(cli, ["--db", args.db, "list", "--json", "--limit", "20"], { capture: false });
  if (cliRun.code !== 0) return { side: "native", error: `tracedrop list: ${failure(cliRun)}` };
  result.cli_list_wall_ms = cliRun.wall_ms;
  // The SQLite scan floor as the module and sql.js run it: `tracedrop sql` opens the store
  // without building a model; a trivial statement's process time is taken off.
  const floor = await runProcess(cli, ["--db", args.db, "sql", SCAN_FLOOR_SQL, "--json"], { capture: false });
  const trivial = await runProcess(cli, ["--db", args.db, "sql", "SELECT 1", "--json"], { capture: false });
  if (floor.code !== 0) return { side: "native", error: `tracedrop sql: ${failure(floor)}` };
  result.sql_scan_floor_ms = floor.wall_ms - trivial.wall_ms;
  return result;
}

/** Flattens one side's sample into {figure: number}, the same keys for every side. */
function flatten(sample) {
  const f = {};
  if (sample.side === "native") {
    const s = sample.session;
    f.open_build = s.ms.open + s.ms.build;
    f.open_build_1thread = s.ms.open + s.ms.build_1thread;
    f.scan_floor_blob = s.ms.scan_floor; // tracedrop-bench: sqlite3_column_blob of every column
    f.scan_floor = sample.sql_scan_floor_ms; // SCAN_FLOOR_SQL, as the module and sql.js run it
    f.list_ready = s.ms.list_ready;
    f.list = s.ms.list;
    f.tree = s.ms.tree_text; // trace_tree_json_text: the same text the module answers
    for (const n of NEEDLES) f[`search.${n.key}`] = s.ms[`search.${n.key}`];
    f.stats = s.ms.stats;
    f.peak_list_ready_kb = s.peak_kb_after_build;
    f.rss_anon_after_build_kb = s.counts.rss_anon_kb_after_build;
    f.rss_file_after_build_kb = s.counts.rss_file_kb_after_build;
    f.cli_list_process = sample.cli_list_wall_ms;
    for (const format of EXPORT_FORMATS) {
      const e = sample[`export.${format}`];
      f[`export.${format}`] = e.ms.export;
      f[`export.${format}.bytes`] = e.counts.bytes;
      f[`export.${format}.spans`] = e.counts.spans;
      f[`export.${format}.peak_kb`] = e.peak_kb;
    }
    f.spans = s.counts.spans;
    f.traces = s.counts.traces;
    for (const k of NEEDLES) f[`hits.${k.key}`] = s.counts[`hits.${k.key}`];
    return f;
  }
  Object.assign(f, flattenPass(sample.passes[0]));
  for (const [k, v] of Object.entries(sample.passes[1] ? flattenPass(sample.passes[1]) : {})) {
    if (!k.startsWith("peak") && !k.startsWith("wasm_bytes")) f[`warm.${k}`] = v;
  }
  f.load = sample.load_ms;
  f.peak_end_kb = sample.peak_first_pass?.VmHWM;
  f.peak_all_passes_kb = sample.peak?.VmHWM;
  return f;
}

/** One pass of a wasm or sql.js session. */
function flattenPass(sample) {
  const f = {};
  for (const [k, v] of Object.entries(sample.ms ?? {})) f[k] = v;
  if (sample.side !== "sqljs") {
    f.open_build = sample.ms.open - (sample.ms.read ?? 0) - (sample.ms.copy ?? 0);
    if (sample.counts.reads_after_open) {
      f.vfs_read_ms_open = sample.counts.reads_after_open.ms;
      f.vfs_read_calls_open = sample.counts.reads_after_open.calls;
      f.vfs_read_bytes_open = sample.counts.reads_after_open.bytes;
      f.vfs_read_ms_total = sample.counts.reads_total.ms;
      f.vfs_read_bytes_total = sample.counts.reads_total.bytes;
    }
    for (const format of EXPORT_FORMATS) {
      f[`export.${format}.bytes`] = sample.counts[`export.${format}.bytes`];
      f[`export.${format}.spans`] = sample.counts[`export.${format}.spans`];
    }
    f.wasm_bytes_list_ready = sample.checkpoints.list_ready.wasm_bytes;
    f.wasm_bytes_end = sample.checkpoints.end.wasm_bytes;
  } else {
    f["export.bytes"] = sample.counts["export.bytes"];
    f["export.spans"] = sample.counts["export.spans"];
  }
  f.peak_list_ready_kb = sample.checkpoints?.list_ready?.vm_hwm_kb;
  f.spans = sample.counts?.spans;
  for (const k of NEEDLES) f[`hits.${k.key}`] = sample.counts?.[`hits.${k.key}`];
  return f;
}

async function runParent(args) {
  const fileBytes = statSync(args.db).size;
  await warmPageCache(args.db);
  const record = {
    db: args.db,
    file_bytes: fileBytes,
    repeat: args.repeat,
    sides: args.sides,
    warm_up: args.warmUp,
    node: process.version,
    load_before: loadAverage(),
    started: new Date().toISOString(),
    binaries: {
      module: { path: args.module, mtime: statSync(args.module).mtime.toISOString() },
      native: { path: args.native, mtime: statSync(path.join(args.native, "bench/tracedrop-bench")).mtime.toISOString() },
    },
    samples: Object.fromEntries(args.sides.map((s) => [s, []])),
    errors: Object.fromEntries(args.sides.map((s) => [s, []])),
  };
  for (let r = 0; r < args.repeat; r++) {
    for (const side of args.sides) {
      const sample = side === "native" ? await nativeSide(args) : await nodeSide(args, side);
      if (sample.error) {
        record.errors[side].push(sample.error);
        if (sample.ms) record.failed_partial = { ...(record.failed_partial ?? {}), [side]: sample.ms };
        console.error(`run ${r + 1}/${args.repeat} ${side}: FAILED: ${sample.error}`);
      } else {
        record.samples[side].push(sample);
        const f = flatten(sample);
        console.error(`run ${r + 1}/${args.repeat} ${side}: list ready ${fmt(f.list_ready_indexed ?? f.list_ready)} ms` +
          (f.list_ready_indexed ? ` (without index ${fmt(f.list_ready)} ms)` : ""));
      }
    }
  }
  record.load_after = loadAverage();
  record.medians = {};
  for (const side of args.sides) {
    if (record.samples[side].length) record.medians[side] = medians(record.samples[side].map(flatten));
  }
  record.ratios = ratios(record.medians);
  return record;
}

function ratios(m) {
  const n = m.native ?? {};
  const r = {};
  for (const side of ["ours-bytes", "ours-vfs"]) {
    const o = m[side];
    if (!o) continue;
    for (const pass of ["", "warm."]) {
      const x = (k) => o[pass + k];
      const out = {
        build_vs_native_1thread: ratio(x("open_build"), n.open_build_1thread),
        build_vs_native_default: ratio(x("open_build"), n.open_build),
        list_ready_vs_native: ratio(x("list_ready"), n.list_ready),
        export_otlp_vs_native: ratio(x("export.otlp-json"), n["export.otlp-json"]),
        export_jaeger_vs_native: ratio(x("export.jaeger"), n["export.jaeger"]),
        scan_floor_vs_native: ratio(x("scan_floor"), n.scan_floor),
      };
      const q = m.sqljs;
      if (q) {
        const y = (k) => q[pass + k];
        const fastest = Math.min(y("list_ready") ?? Infinity, y("list_ready_indexed") ?? Infinity);
        out.sqljs_list_ready_over_ours = ratio(Number.isFinite(fastest) ? fastest : null, x("list_ready"));
        out.sqljs_tree_over_ours = ratio(y("tree"), x("tree"));
        for (const k of NEEDLES) out[`sqljs_search_${k.key}_over_ours`] = ratio(y(`search.${k.key}`), x(`search.${k.key}`));
        out.sqljs_stats_over_ours = ratio(y("stats"), x("stats"));
        out.sqljs_export_over_ours_otlp = ratio(y("export"), x("export.otlp-json"));
      }
      r[`${side}${pass ? ".warm" : ""}`] = out;
    }
  }
  return r;
}

// ---------------------------------------------------------------------------------- report

function report(record) {
  const m = record.medians;
  const n = m.native ?? {};
  const b = m["ours-bytes"] ?? {};
  const v = m["ours-vfs"] ?? {};
  const s = m.sqljs ?? {};
  const lines = [];
  const mib = record.file_bytes / 1048576;
  const spans = n.spans ?? b.spans ?? v.spans;
  lines.push(`${path.basename(record.db)} — ${fmt(mib, 1)} MiB, ${fmt(spans)} spans; median of ${record.repeat} ` +
    `(each wasm/sql.js process: a 1st pass, then a 2nd with V8's optimised code); ` +
    `module ${path.basename(record.binaries.module.path)}` +
    (record.warm_up > 0 ? `, warmed up before the 1st pass as the viewer does (${record.warm_up} spans x 6)` : ", no warm-up") + "; " +
    `load ${record.load_before.join(" ")} before, ${record.load_after.join(" ")} after`);
  lines.push("");
  lines.push("| operation, ms | native | wasm bytes 1st | 2nd | wasm VFS 1st | 2nd | sql.js 1st | 2nd | notes |");
  lines.push("|---|---:|---:|---:|---:|---:|---:|---:|---|");
  const row = (label, nativeValue, key, note = "", sqlKey = key) =>
    lines.push(`| ${label} | ${fmt(nativeValue)} | ${fmt(b[key])} | ${fmt(b["warm." + key])} | ${fmt(v[key])} | ${fmt(v["warm." + key])} | ` +
      `${sqlKey ? fmt(s[sqlKey]) : "-"} | ${sqlKey ? fmt(s["warm." + sqlKey]) : "-"} | ${note} |`);
  lines.push(`| module load | - | ${fmt(b.load)} | | ${fmt(v.load)} | | ${fmt(s.load)} | | instantiate the .wasm (once per process) |`);
  row("read whole file", null, "read", "wasm bytes: the time inside fs.readSync of its 16 MiB slices, straight into wasm memory (its fresh pages' first writes included); sql.js: readFileSync");
  if (b.copy != null || b["warm.copy"] != null) row("&nbsp;&nbsp;copy into wasm memory", null, "copy", "a source without readInto: its slices written into wasm memory (Session.copyMs)", null);
  row("open + model build", n.open_build, "open_build", `native on 1 thread: ${fmt(n.open_build_1thread)}; sql.js: \`new SQL.Database(bytes)\``, "open");
  row("**trace list ready**", n.list_ready, "list_ready", "read + open + build + newest 20; sql.js: read + open + list query, no index");
  row("&nbsp;&nbsp;sql.js, index first", null, "-",
    `read + open + CREATE INDEX (${fmt(s.index)} / ${fmt(s["warm.index"])}) + list (${fmt(s.list_indexed)} / ${fmt(s["warm.list_indexed"])})`, "list_ready_indexed");
  row("list only", n.list, "list", "sql.js: without the index");
  row("tree, per trace", n.tree, "tree", "the 20 listed traces (native: 20 of median size, as text); sql.js: with the index");
  for (const k of NEEDLES) row(`search "${k.text}"`, n[`search.${k.key}`], `search.${k.key}`, "limit 100; sql.js: LIKE on name or attributes");
  row("stats", n.stats, "stats", "sql.js: the viewer's 4 queries + per-name durations");
  row("SQLite scan of spans", n.scan_floor, "scan_floor", "every span column stepped through in SQL (`SCAN_FLOOR_SQL`), nothing kept; native: `tracedrop sql` minus a trivial statement");
  for (const format of EXPORT_FORMATS) {
    const bytes = b[`export.${format}.bytes`] ?? v[`export.${format}.bytes`] ?? n[`export.${format}.bytes`];
    row(`export ${format}`, n[`export.${format}`], `export.${format}`,
      `${fmt(bytes / 1e6, 1)} MB in 1 MiB chunks, counted and dropped` + (format === "otlp-json" ? `; sql.js: OTLP-like JSON Lines, ${fmt(s["export.bytes"] / 1e6, 1)} MB` : ""),
      format === "otlp-json" ? "export" : null);
  }
  lines.push("");
  lines.push("| export, spans/s (MB/s) | native | wasm bytes 1st | 2nd | wasm VFS 1st | 2nd | sql.js 1st | 2nd |");
  lines.push("|---|---:|---:|---:|---:|---:|---:|---:|");
  for (const format of EXPORT_FORMATS) {
    const key = `export.${format}`;
    const sp = n[`${key}.spans`] ?? b[`${key}.spans`] ?? v[`${key}.spans`];
    const by = n[`${key}.bytes`];
    const by2 = b[`${key}.bytes`] ?? v[`${key}.bytes`];
    const cell = (ms, count, bytes) => (ms == null ? "-" : `${fmt(rate(count, ms))} (${fmt(rate(bytes / 1e6, ms), 1)})`);
    const sq = format === "otlp-json";
    lines.push(`| ${format} | ${cell(n[key], sp, by)} | ${cell(b[key], sp, by2)} | ${cell(b["warm." + key], sp, by2)} | ${cell(v[key], sp, by2)} | ` +
      `${cell(v["warm." + key], sp, by2)} | ${sq ? cell(s.export, s["export.spans"], s["export.bytes"]) : "-"} | ` +
      `${sq ? cell(s["warm.export"], s["export.spans"], s["export.bytes"]) : "-"} |`);
  }
  lines.push("");
  lines.push("| peak memory (VmHWM of the process; wasm and sql.js: 1st pass) | native | wasm bytes | wasm VFS | sql.js |");
  lines.push("|---|---:|---:|---:|---:|");
  const nativeEnd = Math.max(n["export.otlp-json.peak_kb"] ?? 0, n["export.jaeger.peak_kb"] ?? 0) || null;
  lines.push(`| at trace list ready, MB | ${fmt(mb(n.peak_list_ready_kb), 1)} | ${fmt(mb(b.peak_list_ready_kb), 1)} | ${fmt(mb(v.peak_list_ready_kb), 1)} | ${fmt(mb(s.peak_list_ready_kb), 1)} |`);
  lines.push(`| after the exports, MB | ${fmt(mb(nativeEnd), 1)} | ${fmt(mb(b.peak_end_kb), 1)} | ${fmt(mb(v.peak_end_kb), 1)} | ${fmt(mb(s.peak_end_kb), 1)} |`);
  const mem = (x) => `${fmt((x.wasm_bytes_list_ready ?? NaN) / 1048576, 0)} / ${fmt((x.wasm_bytes_end ?? NaN) / 1048576, 0)}`;
  lines.push(`| wasm memory at list ready / end, MiB | - | ${mem(b)} | ${mem(v)} | - |`);
  const pct = (kb) => fmt(kb == null ? null : (kb * 1024) / record.file_bytes, 2);
  lines.push(`| peak at list ready / file size | ${pct(n.peak_list_ready_kb)} | ${pct(b.peak_list_ready_kb)} | ${pct(v.peak_list_ready_kb)} | ${pct(s.peak_list_ready_kb)} |`);
  lines.push("");
  if (n.rss_anon_after_build_kb) {
    lines.push(`native after build: ${fmt(mb(n.rss_anon_after_build_kb), 1)} MB own + ${fmt(mb(n.rss_file_after_build_kb), 1)} MB mapped file pages; ` +
      `\`tracedrop list --json --limit 20\` as a whole process: ${fmt(n.cli_list_process)} ms; tracedrop-bench's SQLite scan floor (column_blob) ${fmt(n.scan_floor_blob)} ms.`);
  }
  if (v.vfs_read_ms_open != null) {
    lines.push(`wasm VFS open (1st pass): ${fmt(v.vfs_read_calls_open)} read() calls, ${fmt(v.vfs_read_bytes_open / 1048576, 0)} MiB, ` +
      `${fmt(v.vfs_read_ms_open)} ms of the ${fmt(v.open_build)} ms open spent inside read(); whole session ${fmt(v.vfs_read_bytes_total / 1048576, 0)} MiB read in ${fmt(v.vfs_read_ms_total)} ms.`);
  }
  lines.push(`hits (limit 100) weather/Zürich/none: native ${hitsOf(n)}, wasm ${hitsOf(b.spans ? b : v)}, sql.js ${hitsOf(s)}.`);
  lines.push("");
  lines.push("| ratio | wasm bytes 1st | 2nd | wasm VFS 1st | 2nd |");
  lines.push("|---|---:|---:|---:|---:|");
  const R = record.ratios;
  const rr = (label, key) =>
    lines.push(`| ${label} | ${["ours-bytes", "ours-bytes.warm", "ours-vfs", "ours-vfs.warm"].map((k) => fmt(R[k]?.[key], 2)).join(" | ")} |`);
  rr("open + build, wasm / native on 1 thread (target <= 2)", "build_vs_native_1thread");
  rr("open + build, wasm / native default (2 threads)", "build_vs_native_default");
  rr("trace list ready, wasm / native", "list_ready_vs_native");
  rr("export otlp-json, wasm / native (target <= 2)", "export_otlp_vs_native");
  rr("export jaeger, wasm / native (target <= 2)", "export_jaeger_vs_native");
  rr("SQLite scan of spans, wasm / native", "scan_floor_vs_native");
  rr("sql.js / ours, trace list ready (sql.js's faster way)", "sqljs_list_ready_over_ours");
  rr("sql.js / ours, tree", "sqljs_tree_over_ours");
  for (const k of NEEDLES) rr(`sql.js / ours, search "${k.text}"`, `sqljs_search_${k.key}_over_ours`);
  rr("sql.js / ours, stats", "sqljs_stats_over_ours");
  rr("sql.js / ours, export (its OTLP-like vs our OTLP JSON)", "sqljs_export_over_ours_otlp");
  for (const side of record.sides) {
    for (const e of record.errors[side]) lines.push(`\n**${side} failed**: ${e}`);
  }
  return lines.join("\n");
}

function hitsOf(x) {
  return NEEDLES.map((k) => (x[`hits.${k.key}`] == null ? "?" : x[`hits.${k.key}`])).join("/");
}

// ------------------------------------------------------------------------------------ main

const args = parseArgs(process.argv);
if (args.child) {
  let out;
  try {
    out = await runChild(args);
  } catch (e) {
    out = { side: args.child, error: `${e && e.name}: ${e && e.message}` };
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(out.error ? 1 : 0);
} else {
  const record = await runParent(args);
  if (args.out) writeFileSync(args.out, `${JSON.stringify(record, null, 1)}\n`);
  console.log(args.json ? JSON.stringify({ ...record, samples: undefined, raw: record.samples }, null, 1) : report(record));
}
