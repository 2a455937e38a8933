// The two sessions the wasm benchmark times, written once for Node (wasm_bench.mjs runs them in
// a child process) and for a browser Web Worker (worker.mjs): no Node or DOM import here.
//
// ours:   tracedrop's module through wasm/js/tracedrop.mjs `Session`: open (bytes or VFS; the
//         open is Store open + Model::build), trace list, trees, search, stats, exports.
// sql.js: what a user of the sql.js npm package would write for the same answers: the whole
//         file into `new SQL.Database(bytes)`, trace_viewer.py's list query, an index on
//         spans(trace_id) (its creation timed), the per-trace query, LIKE search, the stats
//         queries, and an OTLP-like JSON export built in JavaScript.
//
// Every step is timed with performance.now(); `checkpoint(name)` lets the host read memory
// figures between steps (outside the timed spans).

export const LIST_LIMIT = 20;
export const SEARCH_LIMIT = 100;
/** The needles of tracedrop-bench (bench/ours_session.cpp default_needles). */
export const NEEDLES = [
  { key: "weather", text: "weather" },
  { key: "unicode", text: "Zürich" },
  { key: "nomatch", text: "qxzjv-nothing-matches-this" },
];
export const EXPORT_FORMATS = ["otlp-json", "jaeger"];
/**
 * SQLite alone: every column of every span row stepped through in C, nothing kept (the
 * same statement natively, in our module and in sql.js): how fast each SQLite build scans.
 */
export const SCAN_FLOOR_SQL =
  "SELECT count(*), sum(length(CAST(span_id AS BLOB)) + length(CAST(trace_id AS BLOB)) + " +
  "length(CAST(parent_span_id AS BLOB)) + length(CAST(name AS BLOB)) + length(CAST(start_time AS BLOB)) + " +
  "length(CAST(end_time AS BLOB)) + length(CAST(attributes AS BLOB)) + length(CAST(status AS BLOB)) + " +
  "length(CAST(kind AS BLOB))) FROM spans";

const now = () => performance.now();

// ------------------------------------------------------------------------------------ ours

/**
 * @param {object} env
 * @param {object} env.td        the loaded tracedrop module
 * @param {Function} env.Session wasm/js/tracedrop.mjs Session
 * @param {(session) => Promise<{result, read_ms?, io?: object}>} env.open  opens the file
 * @param {(name: string, info: object) => Promise<object|undefined>} env.checkpoint
 * @param {boolean} [env.listOnly]  stop once the trace list is ready (for profiling runs)
 * @param {boolean} [env.exportCopies=true]  each export chunk a copy (what the viewer's worker
 *        transfers to the page) or, false, a view of wasm memory (as native tracedrop-bench's
 *        ChunkSink hands its chunks on); either way counted and dropped
 */
export async function runOurs(env) {
  const { td, Session } = env;
  const ms = {};
  const counts = {};
  const checkpoints = {};
  const wasmBytes = () => td.HEAPU8.buffer.byteLength;
  const s = new Session(td);
  try {
    let t = now();
    const opened = await env.open(s);
    ms.open = now() - t;
    if (!opened.result.ok) return { side: "ours", error: `open: ${opened.result.name}: ${opened.result.message}` };
    if (opened.read_ms != null) ms.read = opened.read_ms;
    if (s.copyMs > 0) ms.copy = s.copyMs;  // openCopied: slices written into wasm memory
    const summary = JSON.parse(opened.result.value);
    counts.traces = summary.traces;
    counts.spans = summary.spans;
    counts.events = summary.events;
    counts.file_bytes = summary.file_size;
    counts.attributes_in_memory = summary.attributes_in_memory;

    t = now();
    const list = s.traceList({ limit: LIST_LIMIT });
    ms.list = now() - t;
    if (!list.ok) return { side: "ours", error: `traceList: ${list.message}` };
    ms.list_ready = ms.open + ms.list;
    const rows = JSON.parse(list.value);
    counts.list_rows = rows.length;
    const vfs = s.fileStats();
    if (vfs && vfs.reads > 0) counts.vfs_after_open = { ...vfs };
    if (opened.io) counts.reads_after_open = { ...opened.io };
    checkpoints.list_ready = (await env.checkpoint("list_ready", { wasm_bytes: wasmBytes() })) ?? {};
    checkpoints.list_ready.wasm_bytes = wasmBytes();
    if (env.listOnly) {
      if (opened.io) counts.reads_total = { ...opened.io };
      return { side: "ours", ms, counts, checkpoints };
    }

    // The trees of the 20 listed traces (what the viewer shows next).
    t = now();
    let treeSpans = 0;
    const trees = [];
    for (const row of rows) trees.push(s.traceTree(row.trace_id));
    ms.tree = (now() - t) / Math.max(1, rows.length);
    for (const tree of trees) {
      if (!tree.ok) return { side: "ours", error: `traceTree: ${tree.message}` };
      treeSpans += JSON.parse(tree.value).spans;
    }
    counts.tree_spans = treeSpans;

    for (const needle of NEEDLES) {
      t = now();
      const hits = s.search(needle.text, SEARCH_LIMIT);
      ms[`search.${needle.key}`] = now() - t;
      if (!hits.ok) return { side: "ours", error: `search: ${hits.message}` };
      counts[`hits.${needle.key}`] = countHits(JSON.parse(hits.value));
    }

    t = now();
    const stats = s.stats();
    ms.stats = now() - t;
    if (!stats.ok) return { side: "ours", error: `stats: ${stats.message}` };

    for (const format of EXPORT_FORMATS) {
      let bytes = 0;
      let chunks = 0;
      t = now();
      const done = s.exportTraces({ format }, (chunk) => {
        bytes += chunk.length;
        chunks += 1;
      }, undefined, 1 << 20, { copy: env.exportCopies !== false });
      ms[`export.${format}`] = now() - t;
      if (!done.ok) return { side: "ours", error: `export ${format}: ${done.message}` };
      const summaryDoc = JSON.parse(done.value);
      counts[`export.${format}.bytes`] = bytes;
      counts[`export.${format}.chunks`] = chunks;
      counts[`export.${format}.spans`] = summaryDoc.spans;
      counts[`export.${format}.traces`] = summaryDoc.traces;
    }
    if (opened.io) counts.reads_total = { ...opened.io };
    t = now();
    const floor = s.sql(SCAN_FLOOR_SQL, 1);
    ms.scan_floor = now() - t;
    if (!floor.ok) return { side: "ours", error: `scan floor: ${floor.message}` };
    checkpoints.end = (await env.checkpoint("end", { wasm_bytes: wasmBytes() })) ?? {};
    checkpoints.end.wasm_bytes = wasmBytes();
    return { side: "ours", ms, counts, checkpoints };
  } finally {
    s.delete();
  }
}

function countHits(doc) {
  if (Array.isArray(doc)) return doc.length;
  for (const key of ["hits", "results", "matches", "spans", "traces"]) {
    if (doc && Array.isArray(doc[key])) return doc[key].length;
  }
  return -1;
}

/**
 * Wraps a file source ({size, read, readInto?}) so the time spent in read() (FileReaderSync in a
 * worker, fs.readSync in Node) is counted apart from the rest of the open.
 */
export function timedSource(source) {
  const io = { calls: 0, bytes: 0, ms: 0 };
  const timed = {
    size: source.size,
    read(offset, length) {
      const t = now();
      const out = source.read(offset, length);
      io.ms += now() - t;
      io.calls += 1;
      io.bytes += out.length;
      return out;
    },
  };
  if (typeof source.readInto === "function") {
    // Straight into wasm memory (nodeFileSource, Session.openCopied): the first writes to that
    // memory's fresh pages are then inside read(), as they are in native read() into a buffer.
    timed.readInto = (offset, length, target) => {
      const t = now();
      const n = source.readInto(offset, length, target);
      io.ms += now() - t;
      io.calls += 1;
      io.bytes += n;
      return n;
    };
  }
  if (typeof source.close === "function") timed.close = () => source.close();
  return { source: timed, io };
}

// ---------------------------------------------------------------------------------- sql.js

// trace_viewer.py's trace list (bench/baseline_session.cpp kListSql): newest traces with their
// span counts; the duration is end - start of each row.
export const SQLJS_LIST =
  "SELECT t.trace_id, t.root_span_id, t.start_time, t.end_time, COUNT(s.span_id) AS span_count " +
  "FROM traces t LEFT JOIN spans s ON t.trace_id = s.trace_id " +
  "GROUP BY t.trace_id, t.root_span_id, t.start_time, t.end_time " +
  "ORDER BY t.start_time DESC LIMIT ?";
export const SQLJS_INDEX = "CREATE INDEX spans_trace_id ON spans(trace_id)";
export const SQLJS_TREE =
  "SELECT span_id, parent_span_id, name, start_time, end_time, attributes, status " +
  "FROM spans WHERE trace_id = ? ORDER BY start_time";
export const SQLJS_SEARCH =
  "SELECT s.trace_id, s.span_id, s.name, t.start_time FROM spans s JOIN traces t ON t.trace_id = s.trace_id " +
  "WHERE s.name LIKE ?1 OR s.attributes LIKE ?1 ORDER BY t.start_time DESC LIMIT ?2";
export const SQLJS_STATS = [
  "SELECT COUNT(*) FROM traces",
  "SELECT COUNT(*) FROM spans",
  "SELECT MIN(start_time), MAX(start_time) FROM traces",
  "SELECT name, COUNT(*) FROM spans GROUP BY name ORDER BY 2 DESC LIMIT 5",
  "SELECT name, count(*), avg((julianday(end_time) - julianday(start_time)) * 86400000), " +
    "max((julianday(end_time) - julianday(start_time)) * 86400000) FROM spans GROUP BY name",
];
export const SQLJS_EXPORT_EVENTS = "SELECT span_id, name, timestamp, attributes FROM span_events";
export const SQLJS_EXPORT_SPANS =
  "SELECT trace_id, span_id, parent_span_id, name, start_time, end_time, attributes, status, kind " +
  "FROM spans ORDER BY trace_id";

function allRows(db, sql, params) {
  const stmt = db.prepare(sql);
  try {
    if (params) stmt.bind(params);
    const rows = [];
    while (stmt.step()) rows.push(stmt.get());
    return rows;
  } finally {
    stmt.free();
  }
}

/**
 * @param {object} env
 * @param {object} env.SQL  the initialised sql.js module
 * @param {() => Promise<Uint8Array>} env.readBytes  the whole file
 * @param {(name: string, info: object) => Promise<object|undefined>} env.checkpoint
 */
export async function runSqljs(env) {
  const { SQL } = env;
  const ms = {};
  const counts = {};
  const checkpoints = {};
  let db = null;
  const step = (name, fn) => {
    const t = now();
    try {
      return fn();
    } finally {
      ms[name] = now() - t;
    }
  };
  try {
    let bytes = await timeAsync(ms, "read", env.readBytes);
    counts.file_bytes = bytes.length;
    db = step("open", () => new SQL.Database(bytes));
    bytes = null; // sql.js keeps its own copy (MEMFS); a user lets the buffer go
    const list = step("list", () => allRows(db, SQLJS_LIST, [LIST_LIMIT]));
    ms.list_ready = ms.read + ms.open + ms.list;
    counts.list_rows = list.length;
    checkpoints.list_ready = (await env.checkpoint("list_ready", {})) ?? {};

    step("scan_floor", () => allRows(db, SCAN_FLOOR_SQL));
    step("index", () => db.run(SQLJS_INDEX));
    const listed = step("list_indexed", () => allRows(db, SQLJS_LIST, [LIST_LIMIT]));
    ms.list_ready_indexed = ms.read + ms.open + ms.index + ms.list_indexed;
    counts.list_rows_indexed = listed.length;

    // The same 20 traces' spans, and the children of each span as a viewer would nest them.
    let treeSpans = 0;
    step("tree_total", () => {
      for (const row of listed) {
        const spans = allRows(db, SQLJS_TREE, [row[0]]);
        const children = new Map();
        for (const span of spans) {
          const parent = span[1] ?? "";
          if (!children.has(parent)) children.set(parent, []);
          children.get(parent).push(span);
        }
        treeSpans += spans.length;
      }
    });
    ms.tree = ms.tree_total / Math.max(1, listed.length);
    counts.tree_spans = treeSpans;

    for (const needle of NEEDLES) {
      const hits = step(`search.${needle.key}`, () => allRows(db, SQLJS_SEARCH, [`%${needle.text}%`, SEARCH_LIMIT]));
      counts[`hits.${needle.key}`] = hits.length;
    }

    step("stats", () => {
      for (const sql of SQLJS_STATS) counts.stats_rows = allRows(db, sql).length;
    });

    const exported = step("export", () => exportOtlpLike(db));
    Object.assign(counts, exported);
    checkpoints.end = (await env.checkpoint("end", {})) ?? {};
    return { side: "sqljs", ms, counts, checkpoints };
  } catch (e) {
    return { side: "sqljs", error: `${e && e.name ? e.name + ": " : ""}${e && e.message ? e.message : String(e)}`, ms, counts, checkpoints };
  } finally {
    if (db) {
      try {
        db.close();
      } catch {
        // already unusable
      }
    }
  }
}

async function timeAsync(ms, name, fn) {
  const t = now();
  const value = await fn();
  ms[name] = now() - t;
  return value;
}

// The export a sql.js user would write: every event into a map by span id, then every span
// ordered by trace_id (the index makes that an index scan), one OTLP-JSON-shaped document per
// trace (resourceSpans > scopeSpans > spans, attributes parsed and typed, times as unix nanos
// through Date.parse, i.e. millisecond precision), JSON.stringify'd and UTF-8 encoded (what a
// Blob part costs). The encoded parts are counted and dropped, as ours' chunks are.
function exportOtlpLike(db) {
  const encoder = new TextEncoder();
  const events = new Map();
  const evStmt = db.prepare(SQLJS_EXPORT_EVENTS);
  try {
    while (evStmt.step()) {
      const [spanId, name, timestamp, attributes] = evStmt.get();
      if (!events.has(spanId)) events.set(spanId, []);
      events.get(spanId).push({ timeUnixNano: nanos(timestamp), name, attributes: otlpAttributes(attributes) });
    }
  } finally {
    evStmt.free();
  }
  let bytes = 0;
  let traces = 0;
  let spans = 0;
  let current = null;
  let batch = [];
  const flush = () => {
    if (batch.length === 0) return;
    const doc = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: "service.name", value: { stringValue: "llama-stack" } }] },
          scopeSpans: [{ scope: { name: "llama-stack" }, spans: batch }],
        },
      ],
    };
    bytes += encoder.encode(JSON.stringify(doc) + "\n").length;
    traces += 1;
    batch = [];
  };
  const stmt = db.prepare(SQLJS_EXPORT_SPANS);
  try {
    while (stmt.step()) {
      const [traceId, spanId, parentId, name, start, end, attributes, status, kind] = stmt.get();
      if (traceId !== current) {
        flush();
        current = traceId;
      }
      const span = {
        traceId,
        spanId,
        name,
        kind: kind === "SERVER" ? 2 : kind === "CLIENT" ? 3 : 1,
        startTimeUnixNano: nanos(start),
        endTimeUnixNano: nanos(end),
        attributes: otlpAttributes(attributes),
        status: { code: status === "error" || status === "ERROR" ? 2 : status ? 1 : 0 },
      };
      if (parentId) span.parentSpanId = parentId;
      const spanEvents = events.get(spanId);
      if (spanEvents) span.events = spanEvents;
      batch.push(span);
      spans += 1;
    }
    flush();
  } finally {
    stmt.free();
  }
  return { "export.bytes": bytes, "export.traces": traces, "export.spans": spans, "export.events": sumSizes(events) };
}

function sumSizes(map) {
  let n = 0;
  for (const v of map.values()) n += v.length;
  return n;
}

function nanos(text) {
  const ms = text == null ? NaN : Date.parse(String(text).replace(" ", "T"));
  return Number.isFinite(ms) ? String(ms * 1e6) : "0";
}

function otlpAttributes(text) {
  if (text == null || text === "") return [];
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    return [{ key: "attributes", value: { stringValue: String(text) } }];
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    return [{ key: "attributes", value: { stringValue: String(text) } }];
  }
  return Object.entries(parsed).map(([key, v]) => ({ key, value: anyValue(v) }));
}

function anyValue(v) {
  switch (typeof v) {
    case "string":
      return { stringValue: v };
    case "boolean":
      return { boolValue: v };
    case "number":
      return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
    default:
      return v === null ? {} : { stringValue: JSON.stringify(v) };
  }
}
