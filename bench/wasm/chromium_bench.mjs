// The wasm benchmark in headless Chromium (issue 4): the database goes into a real File (an
// <input type=file> set by Playwright with the file's path, so a 1 GB file is not copied
// through the protocol), the page posts it to a Web Worker, and the worker opens it with
// tracedrop's module — through the viewer's own client and worker (web/client.mjs,
// web/worker.mjs) and through the benchmark's worker (bench/wasm/worker.mjs: the same Session
// calls timed step by step, file reads timed apart) — or with sql.js. Peak memory is the
// renderer process's VmHWM (the page and its dedicated workers live in it) read from /proc
// between steps. Every side runs in a freshly launched browser.
//
//   node bench/wasm/chromium_bench.mjs --db bench/data/traces-10k-seed1.db [--repeat 1]
//        [--sides io,client,ours-vfs,ours-bytes,sqljs] [--passes 2] [--json] [--out results.json]
//        [--module DIR/tracedrop.js] [--chromium /usr/bin/chromium] [--vfs-block BYTES] [--vfs-cache BYTES]
//        [--list-only]   (bench worker sides stop at the trace list: for profiling the open)
//        [--threads on|off]  (client sides: the viewer's default, the threaded module on this
//                             cross-origin isolated page, or the single-threaded one)
//
// Sides: client (web/client.mjs, the viewer's choice: bytes up to 256 MiB, the VFS above),
// client-vfs, client-bytes, ours-vfs, ours-bytes (bench/wasm/worker.mjs), sqljs (sql.js 1.16.0
// in bench/wasm/worker.mjs: the whole file read with FileReaderSync, then sessions.mjs), io
// (the File read alone: its first 256 MiB in order with FileReaderSync in 64 KiB, 1 MiB and
// 16 MiB slices, then Blob.arrayBuffer() in 16 MiB slices and Blob.stream()).
// Needs playwright-core (package.json) and a Chromium; it never downloads a browser.
import { readdirSync, readFileSync, statSync, writeFileSync, createReadStream, existsSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

import { EXPORT_FORMATS, NEEDLES } from "./sessions.mjs";
import { fmt, loadAverage, mb, medians, procStatus, rate, ratio, warmPageCache } from "./util.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const ALL_SIDES = ["client", "client-vfs", "client-bytes", "ours-vfs", "ours-bytes", "sqljs", "io"];
const DEFAULT_SIDES = ["io", "client", "ours-vfs", "ours-bytes", "sqljs"];
const LAUNCH_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

function parseArgs(argv) {
  const args = {
    db: null,
    repeat: 1,
    passes: 2,
    sides: DEFAULT_SIDES,
    json: false,
    out: null,
    module: path.join(root, "build/wasm/wasm/tracedrop.js"),
    chromium: "/usr/bin/chromium",
    vfs: null,
    listOnly: false,
    timeoutMs: 30 * 60 * 1000,
  };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--db") args.db = path.resolve(value());
    else if (a === "--repeat") args.repeat = Number(value());
    else if (a === "--passes") args.passes = Number(value());
    else if (a === "--sides") args.sides = value().split(",").filter(Boolean);
    else if (a === "--json") args.json = true;
    else if (a === "--out") args.out = path.resolve(value());
    else if (a === "--module") args.module = path.resolve(value());
    else if (a === "--chromium") args.chromium = value();
    else if (a === "--vfs-block") args.vfs = { blockSize: Number(value()), cacheBytes: args.vfs?.cacheBytes ?? 32 << 20 };
    else if (a === "--vfs-cache") args.vfs = { blockSize: args.vfs?.blockSize ?? 64 << 10, cacheBytes: Number(value()) };
    else if (a === "--list-only") args.listOnly = true;
    else if (a === "--threads") args.threads = value() !== "off";
    else if (a === "-h" || a === "--help") usage();
    else usage(`unknown argument: ${a}`);
  }
  if (!args.db) usage("--db is required");
  if (!(args.repeat >= 1 && args.repeat <= 20)) usage("--repeat needs a number from 1 to 20");
  if (!(args.passes >= 1 && args.passes <= 5)) usage("--passes needs a number from 1 to 5");
  for (const s of args.sides) if (!ALL_SIDES.includes(s)) usage(`unknown side: ${s}`);
  return args;
}

function usage(message) {
  if (message) console.error(`chromium_bench: ${message}`);
  const text = readFileSync(fileURLToPath(import.meta.url), "utf8").split("\n").slice(9, 14).join("\n");
  console.error(text.replace(/^\/\/ ?/gm, ""));
  process.exit(message ? 2 : 0);
}

// ---------------------------------------------------------------------------- static server

const TYPES = { ".html": "text/html; charset=utf-8", ".mjs": "text/javascript; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".wasm": "application/wasm" };

/** Serves only these URL prefixes, each from one directory; cross-origin isolated. */
async function startServer(moduleDir) {
  const mounts = [
    ["/bench/wasm/", here],
    ["/wasm/js/", path.join(root, "wasm/js")],
    ["/web/", path.join(root, "web")],
    ["/build/wasm/wasm/", moduleDir],
    ["/node_modules/sql.js/dist/", path.join(root, "node_modules/sql.js/dist")],
  ];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://localhost");
    const headers = {
      "cache-control": "no-store",
      "cross-origin-opener-policy": "same-origin",
      "cross-origin-embedder-policy": "require-corp",
      "cross-origin-resource-policy": "same-origin",
    };
    const mount = mounts.find(([prefix]) => url.pathname.startsWith(prefix));
    const rest = mount ? decodeURIComponent(url.pathname.slice(mount[0].length)) : "";
    const file = mount ? path.join(mount[1], rest) : "";
    let ok = mount && !rest.split("/").includes("..") && file.startsWith(path.resolve(mount[1]) + path.sep);
    if (ok) {
      try {
        ok = statSync(file).isFile();
      } catch {
        ok = false;
      }
    }
    if (!ok) {
      res.writeHead(404, headers).end("not found");
      return;
    }
    headers["content-type"] = TYPES[path.extname(file)] ?? "application/octet-stream";
    headers["content-length"] = String(statSync(file).size);
    res.writeHead(200, headers);
    createReadStream(file).pipe(res);
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}

// ------------------------------------------------------------------------- process memory

/** The Chromium processes under this Node process: [{pid, type, VmHWM, VmRSS}]. */
function chromiumProcesses() {
  const parent = new Map();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parent.set(Number(name), Number(fields[1]));
    } catch {
      // gone
    }
  }
  const mine = new Set([process.pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, ppid] of parent) {
      if (!mine.has(pid) && mine.has(ppid)) {
        mine.add(pid);
        grew = true;
      }
    }
  }
  const out = [];
  for (const pid of mine) {
    if (pid === process.pid) continue;
    let cmdline;
    try {
      // Chromium rewrites its children's titles: the arguments may be one space-separated string.
      cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
    } catch {
      continue;
    }
    if (!/chrom/.test(cmdline.split(" ")[0])) continue;
    const type = /--type=(\S+)/.exec(cmdline)?.[1] ?? "browser";
    const st = procStatus(pid);
    if (st) out.push({ pid, type, ...st });
  }
  return out;
}

/** What a checkpoint records: the renderer (largest peak of the renderers) and the browser process. */
function memorySnapshot() {
  const procs = chromiumProcesses();
  const renderers = procs.filter((p) => p.type === "renderer").sort((a, b) => b.VmHWM - a.VmHWM);
  const browser = procs.find((p) => p.type === "browser");
  return {
    renderer_hwm_kb: renderers[0]?.VmHWM ?? null,
    renderer_rss_kb: renderers[0]?.VmRSS ?? null,
    renderer_anon_kb: renderers[0]?.RssAnon ?? null,
    renderer_pid: renderers[0]?.pid ?? null,
    renderers: renderers.length,
    browser_hwm_kb: browser?.VmHWM ?? null,
    all: procs.map(({ pid, type, VmHWM, VmRSS, RssAnon }) => ({ pid, type, VmHWM, VmRSS, RssAnon })),
  };
}

// ------------------------------------------------------------------------------------ runs

async function runSide(chromium, args, origin, side) {
  const [kind, modeName] =
    side === "client" ? ["client", "auto"] : side === "sqljs" || side === "io" ? [side, "bytes"] : side.split("-");
  const browser = await chromium.launch({ executablePath: args.chromium, headless: true, args: LAUNCH_ARGS });
  const t0 = performance.now();
  try {
    const page = await browser.newPage();
    const consoleLines = [];
    page.on("console", (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => consoleLines.push(`pageerror: ${e.message}`));
    let crashed = false;
    page.on("crash", () => (crashed = true));
    await page.exposeFunction("benchCheckpoint", async () => memorySnapshot());
    await page.goto(`${origin}/bench/wasm/page.html`);
    await page.waitForFunction(() => window.benchPageReady === true);
    await page.setInputFiles("#file", args.db);
    const run = page.evaluate((options) => window.runBench(options), {
      side: kind,
      mode: modeName,
      passes: args.passes,
      vfs: args.vfs,
      listOnly: args.listOnly,
      threads: args.threads !== false,
    });
    let timer;
    const timeout = new Promise((resolve) => {
      timer = setTimeout(() => resolve({ error: `timed out after ${args.timeoutMs / 1000} s` }), args.timeoutMs);
    });
    let result;
    try {
      result = await Promise.race([run, timeout]);
    } catch (e) {
      result = { error: crashed ? `the renderer crashed (${e.message.split("\n")[0]})` : e.message.split("\n")[0] };
    } finally {
      clearTimeout(timer);
    }
    result.side = side;
    result.final = memorySnapshot();
    result.wall_ms = performance.now() - t0;
    if (result.error) result.console = consoleLines.slice(-10);
    return result;
  } finally {
    await browser.close();
  }
}

function flatten(sample) {
  const f = {};
  const first = sample.passes?.[0] ?? {};
  const second = sample.passes?.[1];
  const pass = (p, prefix) => {
    for (const [k, v] of Object.entries(p.ms ?? {})) f[prefix + k] = v;
    // The read and the copy into wasm memory (bytes: Session.copyMs) are rows of their own.
    if (p.ms && p.ms.open != null) f[`${prefix}open_build`] = p.ms.open - (p.ms.read ?? 0) - (p.ms.copy ?? 0);
    if (p.counts?.reads_after_open) {
      f[`${prefix}read_ms_open`] = p.counts.reads_after_open.ms;
      f[`${prefix}read_calls_open`] = p.counts.reads_after_open.calls;
      f[`${prefix}read_bytes_open`] = p.counts.reads_after_open.bytes;
    }
  };
  pass(first, "");
  if (second && !second.error) pass(second, "warm.");
  const c = first.counts ?? {};
  f.spans = c.spans;
  f.via = c.via;
  for (const k of NEEDLES) f[`hits.${k.key}`] = c[`hits.${k.key}`];
  for (const format of EXPORT_FORMATS) {
    f[`export.${format}.bytes`] = c[`export.${format}.bytes`];
    f[`export.${format}.spans`] = c[`export.${format}.spans`];
  }
  f["export.bytes"] = c["export.bytes"];
  f["export.spans"] = c["export.spans"];
  f.load = sample.load_ms;
  f.warm_up = sample.warm_up_ms;
  f.threads = sample.threads;
  f.renderer_start_kb = sample.before?.renderer_hwm_kb;
  f.renderer_loaded_kb = sample.afterLoad?.renderer_rss_kb;
  f.renderer_list_ready_kb = first.checkpoints?.list_ready?.renderer_hwm_kb;
  f.renderer_loaded_anon_kb = sample.afterLoad?.renderer_anon_kb;
  f.renderer_list_ready_anon_kb = first.checkpoints?.list_ready?.renderer_anon_kb;
  f.renderer_end_kb = first.checkpoints?.end?.renderer_hwm_kb;
  f.renderer_all_passes_kb = sample.final?.renderer_hwm_kb;
  f.browser_hwm_kb = sample.final?.browser_hwm_kb;
  f.wasm_bytes_list_ready = first.checkpoints?.list_ready?.wasm_bytes;
  f.wasm_bytes_end = first.checkpoints?.end?.wasm_bytes;
  return f;
}

async function main() {
  const args = parseArgs(process.argv);
  let chromium;
  try {
    ({ chromium } = await import(pathToFileURL(path.join(root, "node_modules/playwright-core/index.mjs")).href));
  } catch (e) {
    console.error(`chromium_bench: playwright-core is not installed (npm ci): ${e.message}`);
    process.exit(2);
  }
  if (args.sides.some((s) => s.startsWith("client")) && !existsSync(path.join(root, "web/client.mjs"))) {
    console.error("chromium_bench: web/client.mjs is missing: the client sides are skipped");
    args.sides = args.sides.filter((s) => !s.startsWith("client"));
  }
  const server = await startServer(path.dirname(args.module));
  const record = {
    db: args.db,
    file_bytes: statSync(args.db).size,
    repeat: args.repeat,
    passes: args.passes,
    sides: args.sides,
    chromium: args.chromium,
    vfs: args.vfs ?? "default (64 KiB blocks, 32 MiB cache)",
    list_only: args.listOnly,
    module: { path: args.module, mtime: statSync(args.module).mtime.toISOString() },
    started: new Date().toISOString(),
    samples: Object.fromEntries(args.sides.map((s) => [s, []])),
    errors: Object.fromEntries(args.sides.map((s) => [s, []])),
  };
  try {
    await warmPageCache(args.db);
    record.load_before = loadAverage();
    for (let r = 0; r < args.repeat; r++) {
      for (const side of args.sides) {
        const sample = await runSide(chromium, args, server.origin, side);
        if (side === "io") {
          if (sample.error) record.errors.io.push({ error: sample.error });
          else record.samples.io.push(sample);
          for (const x of sample.io ?? []) {
            console.error(`run ${r + 1}/${args.repeat} io: ${x.how} ${x.block} B: ${x.calls} calls, ${x.ms.toFixed(0)} ms`);
          }
          continue;
        }
        const firstError = sample.error ?? sample.passes?.find((p) => p.error)?.error;
        if (sample.error || sample.passes?.[0]?.error) {
          record.errors[side].push({ error: firstError, partial: sample.passes?.[0]?.ms, console: sample.console, final: sample.final });
          console.error(`run ${r + 1}/${args.repeat} ${side}: FAILED: ${firstError}`);
        } else {
          if (firstError) sample.warm_error = firstError;
          record.samples[side].push(sample);
          const f = flatten(sample);
          console.error(`run ${r + 1}/${args.repeat} ${side}: list ready ${fmt(f.list_ready_indexed ?? f.list_ready)} ms, ` +
            `renderer peak ${fmt(mb(f.renderer_list_ready_kb), 0)} MB at list ready (${sample.wall_ms.toFixed(0)} ms in all)`);
        }
      }
    }
    record.load_after = loadAverage();
  } finally {
    await server.close();
  }
  record.medians = {};
  for (const side of args.sides) {
    if (side !== "io" && record.samples[side].length) record.medians[side] = medians(record.samples[side].map(flatten));
  }
  if (record.samples.io?.length) record.io = ioMedians(record.samples.io);
  if (args.out) writeFileSync(args.out, `${JSON.stringify(record, null, 1)}\n`);
  console.log(args.json ? JSON.stringify({ ...record, samples: undefined, raw: record.samples }, null, 1) : report(record));
}

// ---------------------------------------------------------------------------------- report

function report(record) {
  const sides = record.sides.filter((s) => record.medians[s]);
  const m = record.medians;
  const lines = [];
  const mib = record.file_bytes / 1048576;
  const spans = sides.map((s) => m[s].spans).find((x) => x != null);
  lines.push(`${path.basename(record.db)} in Chromium — ${fmt(mib, 1)} MiB, ${fmt(spans)} spans; median of ${record.repeat}; ` +
    `per browser: ${record.passes} passes (the 1st as after a page load, the next with V8's optimised code); ` +
    `load ${record.load_before.join(" ")} before, ${record.load_after.join(" ")} after` +
    (typeof record.vfs === "object" ? `; VFS blocks of ${record.vfs.blockSize} B, cache ${record.vfs.cacheBytes} B` : ""));
  if (sides.length) {
    lines.push("");
    const head = sides.flatMap((s) => [`${label(s, m[s])} 1st`, "2nd"]);
    lines.push(`| operation, ms | ${head.join(" | ")} |`);
    lines.push(`|---|${head.map(() => "---:").join("|")}|`);
    const row = (name, key, sqlKey = key) => {
      const cells = sides.flatMap((s) => {
        const k = s === "sqljs" ? sqlKey : key;
        return k ? [fmt(m[s][k]), fmt(m[s][`warm.${k}`])] : ["-", "-"];
      });
      lines.push(`| ${name} | ${cells.join(" | ")} |`);
    };
    lines.push(`| module (viewer worker) | ${sides.flatMap((s) => [m[s].threads == null ? "-" : m[s].threads ? "tracedrop_mt (threads)" : "tracedrop (one thread)", ""]).join(" | ")} |`);
    lines.push(`| module load | ${sides.flatMap((s) => [fmt(m[s].load), ""]).join(" | ")} |`);
    lines.push(`| warm-up after load (viewer worker) | ${sides.flatMap((s) => [fmt(m[s].warm_up), ""]).join(" | ")} |`);
    row("read whole file (FileReaderSync)", "read");
    row("&nbsp;&nbsp;bytes: copy into wasm memory", "copy", null);
    row("open + model build (sql.js: new Database)", "open_build", "open");
    row("&nbsp;&nbsp;of which inside VFS read()", "read_ms_open", null);
    row("**trace list ready** (from the File)", "list_ready");
    row("&nbsp;&nbsp;sql.js: CREATE INDEX", null, "index");
    row("&nbsp;&nbsp;sql.js: list ready, index first", null, "list_ready_indexed");
    row("list only", "list");
    row("tree, per trace (20 listed)", "tree");
    for (const k of NEEDLES) row(`search "${k.text}"`, `search.${k.key}`);
    row("stats", "stats");
    row("SQLite scan of spans (SQL)", "scan_floor");
    for (const format of EXPORT_FORMATS) row(`export ${format}`, `export.${format}`, format === "otlp-json" ? "export" : null);
    lines.push("");
    lines.push(`| export, spans/s (MB/s), 1st pass | ${sides.map((s) => label(s, m[s])).join(" | ")} |`);
    lines.push(`|---|${sides.map(() => "---:").join("|")}|`);
    for (const format of EXPORT_FORMATS) {
      const cells = sides.map((s) => {
        const x = m[s];
        if (s === "sqljs") return format === "otlp-json" ? `${fmt(rate(x["export.spans"], x.export))} (${fmt(rate(x["export.bytes"] / 1e6, x.export), 1)})` : "-";
        return `${fmt(rate(x[`export.${format}.spans`], x[`export.${format}`]))} (${fmt(rate(x[`export.${format}.bytes`] / 1e6, x[`export.${format}`]), 1)})`;
      });
      lines.push(`| ${format} | ${cells.join(" | ")} |`);
    }
    lines.push("");
    lines.push(`| renderer process memory, MB (1st pass) | ${sides.map((s) => label(s, m[s])).join(" | ")} |`);
    lines.push(`|---|${sides.map(() => "---:").join("|")}|`);
    const memRow = (name, key) => lines.push(`| ${name} | ${sides.map((s) => fmt(mb(m[s][key]), 1)).join(" | ")} |`);
    memRow("VmHWM before the worker started", "renderer_start_kb");
    memRow("VmRSS with the module loaded", "renderer_loaded_kb");
    memRow("**VmHWM at trace list ready**", "renderer_list_ready_kb");
    memRow("VmHWM after the exports", "renderer_end_kb");
    memRow("RssAnon (own memory, now) with the module loaded", "renderer_loaded_anon_kb");
    memRow("RssAnon at trace list ready", "renderer_list_ready_anon_kb");
    lines.push(`| VmHWM at list ready / file size | ${sides.map((s) => fmt(ratio(m[s].renderer_list_ready_kb * 1024, record.file_bytes), 3)).join(" | ")} |`);
    lines.push(`| (VmHWM at list ready - VmRSS before open) / file size | ${sides.map((s) => fmt(ratio((m[s].renderer_list_ready_kb - m[s].renderer_loaded_kb) * 1024, record.file_bytes), 3)).join(" | ")} |`);
    lines.push(`| wasm memory at list ready / end, MiB | ${sides.map((s) => (m[s].wasm_bytes_list_ready ? `${fmt(m[s].wasm_bytes_list_ready / 1048576, 0)} / ${m[s].wasm_bytes_end ? fmt(m[s].wasm_bytes_end / 1048576, 0) : "-"}` : "-")).join(" | ")} |`);
    memRow("browser process VmHWM (whole run)", "browser_hwm_kb");
    lines.push("");
  }
  lines.push("");
  if (record.io) {
    lines.push("The File read alone in the worker (its first 256 MiB, in order): " +
      record.io.map((r) => `${r.how}${r.block ? ` in ${r.block >> 10} KiB slices` : ""} ${fmt(r.ms)} ms (${r.calls} calls, ` +
        `${fmt(r.ms_per_call, 2)} ms per call, ${fmt(r.mb_per_s, 0)} MB/s)`).join("; ") + ".");
    lines.push("");
  }
  if (sides.length) lines.push(`hits weather/Zürich/none: ${sides.map((s) => `${s} ${NEEDLES.map((k) => m[s][`hits.${k.key}`] ?? "?").join("/")}`).join(", ")}.`);
  for (const side of record.sides) {
    for (const e of record.errors[side]) {
      lines.push(`\n**${side} failed**: ${e.error}` + (e.partial ? ` (done before: ${Object.entries(e.partial).map(([k, v]) => `${k} ${fmt(v)} ms`).join(", ")})` : "") +
        (e.final ? `; renderer VmHWM ${fmt(mb(e.final.renderer_hwm_kb), 1)} MB` : ""));
      if (e.console?.length) lines.push(`console: ${e.console.join(" | ")}`);
    }
  }
  return lines.join("\n");
}

function ioMedians(samples) {
  return samples[0].io.map((first, i) => {
    const ms = samples.map((s) => s.io[i].ms).sort((a, b) => a - b)[samples.length >> 1];
    return { how: first.how, block: first.block, bytes: first.bytes, calls: first.calls, ms, ms_per_call: ms / first.calls, mb_per_s: first.bytes / 1e6 / (ms / 1000) };
  });
}

function label(side, x) {
  if (side === "client") return `viewer client (${x?.via ?? "auto"})`;
  if (side.startsWith("client-")) return `viewer client (${side.slice(7)})`;
  if (side === "sqljs") return "sql.js";
  return `bench worker (${side.slice(5)})`;
}

await main();
