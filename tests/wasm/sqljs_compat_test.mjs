// The sql.js-compatible surface (wasm/js/sqljs.mjs, sqljs_worker.mjs) against the sql.js npm
// package: the same calls on the same trace database through both, results deep-compared.
// Error messages must be equal, or equal once a prefix is dropped (reported as such).
// sql.js opens the bytes writable, so its copy gets PRAGMA query_only=1 to stand for
// tracedrop's read-only trace file.
//
//   node tests/wasm/sqljs_compat_test.mjs --module build/wasm/wasm/tracedrop.js \
//        --gen build/release/tests/data/tracedrop-gen --work build/wasm/sqljs-test
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";

import initTracedropSql from "../../wasm/js/sqljs.mjs";
import { pathArg } from "./test_args.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const modulePath = pathArg("--module", "build/wasm/wasm/tracedrop.js");
const gen = pathArg("--gen", "build/release/tests/data/tracedrop-gen");
const work = pathArg("--work", "build/wasm/sqljs-test");
mkdirSync(work, { recursive: true });

let sqljsMain;
try {
  sqljsMain = createRequire(path.join(root, "package.json")).resolve("sql.js");
} catch {
  console.error("sqljs_compat_test: the sql.js package is missing: run `npm ci` (scripts/setup.sh does)");
  process.exit(1);
}
const sqljsWorker = path.join(path.dirname(sqljsMain), "worker.sql-wasm.js");

let failed = 0;
let loose = 0;
function check(ok, what, detail = "") {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}${detail ? ` (${detail})` : ""}`);
  if (!ok) failed++;
}

// A comparable form: blobs, BigInts and errors made explicit.
function canon(v) {
  return JSON.stringify(v, (_k, x) => {
    if (x instanceof Uint8Array) return { blob: Array.from(x) };
    if (typeof x === "bigint") return { bigint: x.toString() };
    if (typeof x === "number" && !Number.isFinite(x)) return { number: String(x) };
    if (x === undefined) return { undefined: true };
    return x;
  });
}
const messageOf = (e) => (typeof e === "string" ? e : e && e.message !== undefined ? e.message : String(e));
function attempt(fn) {
  try {
    return { value: fn() };
  } catch (e) {
    return { error: messageOf(e) };
  }
}
// Equal, or both errors whose messages agree once a prefix is dropped.
function compare(what, theirs, ours) {
  if (theirs.error !== undefined && ours.error !== undefined) {
    if (theirs.error === ours.error) return check(true, what, `error "${ours.error}"`);
    const ok = theirs.error.endsWith(ours.error) || ours.error.endsWith(theirs.error);
    if (ok) loose++;
    return check(ok, what, `errors differ${ok ? " only by a prefix" : ""}: sql.js "${theirs.error}", tracedrop "${ours.error}"`);
  }
  const a = canon(theirs);
  const b = canon(ours);
  const short = (s) => (s.length > 300 ? `${s.slice(0, 300)}...` : s);
  check(a === b, what, a === b ? `${a.length} chars` : `sql.js ${short(a)}\n     tracedrop ${short(b)}`);
}

// --- the database --------------------------------------------------------------------------
const dbPath = path.join(work, "compat.db");
if (!existsSync(dbPath)) {
  if (!existsSync(gen)) {
    console.error(`sqljs_compat_test: ${gen} is missing: build the native tree first`);
    process.exit(1);
  }
  execFileSync(gen, ["--out", dbPath, "--traces", "40", "--seed", "11"], { stdio: "inherit" });
}
const bytes = new Uint8Array(readFileSync(dbPath));

const SqlJs = await createRequire(import.meta.url)(sqljsMain)();
const Td = await initTracedropSql({ moduleUrl: modulePath });
check(typeof Td.Database === "function" && typeof Td.Statement === "function", "initSqlJs answers {Database, Statement}");

const theirDb = new SqlJs.Database(bytes);
theirDb.run("PRAGMA query_only=1");
const ourDb = new Td.Database(bytes);

const traceId = ourDb.exec("SELECT trace_id FROM traces ORDER BY trace_id LIMIT 1 OFFSET 3")[0].values[0][0];
const otherTrace = ourDb.exec("SELECT trace_id FROM traces ORDER BY trace_id LIMIT 1 OFFSET 7")[0].values[0][0];

// Each call runs against a db of one library (and that library's module object).
const calls = [
  ["counts", (db) => db.exec("SELECT (SELECT count(*) FROM traces), (SELECT count(*) FROM spans), (SELECT count(*) FROM span_events)")],
  ["every trace row", (db) => db.exec("SELECT * FROM traces ORDER BY trace_id")],
  ["spans of a trace (? param)", (db) => db.exec(
    "SELECT span_id, parent_span_id, name, start_time, typeof(start_time), end_time, attributes, status, kind FROM spans WHERE trace_id = ? ORDER BY span_id",
    [traceId])],
  ["every span_events row", (db) => db.exec("SELECT * FROM span_events ORDER BY id")],
  ["aggregates", (db) => db.exec(
    "SELECT name, count(*), min(start_time), max(length(attributes)), avg(length(attributes)), total(length(attributes)) / 3 FROM spans GROUP BY name ORDER BY name")],
  ["json_extract", (db) => db.exec(
    "SELECT id, json_extract(attributes, '$.value'), json_extract(attributes, '$.unit'), json_type(attributes), json_extract(attributes, '$.missing') FROM span_events ORDER BY id LIMIT 200")],
  ["typeof every column", (db) => db.exec(
    "SELECT typeof(span_id), typeof(parent_span_id), typeof(start_time), typeof(attributes), count(*) FROM spans GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4")],
  ["NULLs", (db) => db.exec("SELECT NULL, parent_span_id, NULL IS NULL FROM spans WHERE parent_span_id IS NULL ORDER BY span_id")],
  ["blobs", (db) => db.exec("SELECT x'0001ff', zeroblob(3), x'', CAST('abc' AS BLOB), typeof(x'00'), length(x'00ff00')")],
  ["floats", (db) => db.exec("SELECT 0.1 + 0.2, 1e308 * 10, -1e308 * 10, -1.5e-300, 3.0, 1 / 3.0, avg(id), sum(id) * 0.5 FROM span_events")],
  ["big integers", (db) => db.exec("SELECT 9007199254740993, -9223372036854775808, 9223372036854775807, 2147483648, -2147483649, max(id) * 4294967296 FROM span_events")],
  ["big integers as BigInt", (db) => db.exec("SELECT 9007199254740993, -9223372036854775808, 42, 1.5, 'x'", null, { useBigInt: true })],
  ["bound values of every type", (db) => db.exec(
    "SELECT ?1, typeof(?1), ?2, typeof(?2), ?3, typeof(?3), ?4, typeof(?4), ?5, typeof(?5), ?6, typeof(?6), ?7, typeof(?7), ?8, typeof(?8), ?9, typeof(?9), ?10, typeof(?10)",
    [2147483647, 2147483648, 1.5, -7, true, null, "Zürich ✓", new Uint8Array([0, 1, 255]), 12345678901234567890n, [1, 2, 3]])],
  ["multiple statements in one exec", (db) => db.exec(
    "SELECT 1 AS a; SELECT 2 AS b, 'x' AS c; SELECT * FROM traces WHERE 0; SELECT count(*) AS n FROM spans; ; -- done\n")],
  ["params bound to each statement", (db) => db.exec("SELECT ? AS one; SELECT ? || '!' AS two", ["p"])],
  ["named params :a $a @a (exec)", (db) => db.exec(
    "SELECT count(*) FROM spans WHERE trace_id = :t AND name != $n AND length(span_id) >= @l", { ":t": traceId, $n: "none", "@l": 4, ":unused": 1 })],
  ["prepare/bind/step/getAsObject loop", (db) => {
    const stmt = db.prepare("SELECT span_id, name, start_time, parent_span_id FROM spans WHERE trace_id = :t ORDER BY span_id");
    const out = { columns: stmt.getColumnNames(), rows: [] };
    stmt.bind({ ":t": traceId });
    while (stmt.step()) out.rows.push(stmt.getAsObject());
    stmt.bind({ ":t": otherTrace });
    while (stmt.step()) out.rows.push(stmt.get());
    out.reset = stmt.reset();
    out.getSql = stmt.getSQL();
    out.freed = stmt.free();
    return out;
  }],
  ["prepare with params, get(params) shorthand", (db) => {
    const stmt = db.prepare("SELECT ? + 1 AS n, $x AS x", [41]);
    const first = [stmt.step(), stmt.getAsObject()];
    const second = stmt.get([1, 2]);
    const third = stmt.getAsObject({ $x: "named" });
    stmt.free();
    return { first, second, third };
  }],
  ["Statement.run", (db) => {
    const stmt = db.prepare("SELECT count(*) FROM spans WHERE trace_id = ?");
    return [stmt.run([traceId]), stmt.step(), stmt.get(), stmt.free()];
  }],
  ["db.each with params and done", (db) => {
    const rows = [];
    const done = db.each("SELECT id, name FROM span_events WHERE id <= $max ORDER BY id", { $max: 25 }, (r) => rows.push(r), () => "done");
    return { rows, done };
  }],
  ["db.each without params", (db) => {
    const rows = [];
    db.each("SELECT trace_id FROM traces ORDER BY 1 LIMIT 5", (r) => rows.push(r), () => rows.push("end"));
    return rows;
  }],
  ["db.run with params returns the db", (db) => db.run("SELECT ?", [1]) === db],
  ["getRowsModified on a read-only file", (db) => db.getRowsModified()],
  // Errors.
  ["syntax error", (db) => db.exec("SELEC 1")],
  ["no such table", (db) => db.exec("SELECT * FROM no_such_table")],
  ["no such column", (db) => db.exec("SELECT no_such_column FROM spans")],
  ["prepare error", (db) => db.prepare("SELECT FROM WHERE")],
  ["error after rows of an earlier statement", (db) => db.exec("SELECT 1; SELECT * FROM nope")],
  ["too many params (column index out of range)", (db) => db.exec("SELECT 1", [1, 2])],
  ["nothing to prepare", (db) => db.prepare("  -- only a comment")],
  ["statement used after free", (db) => {
    const stmt = db.prepare("SELECT 1");
    stmt.free();
    return stmt.step();
  }],
  ["binding an unknown type", (db) => db.exec("SELECT ?", [{}])],
  ["DELETE on the read-only trace file", (db) => db.exec("DELETE FROM spans")],
  ["INSERT through run on the read-only trace file", (db) => db.run("INSERT INTO traces (trace_id) VALUES (?)", ["x"])],
  ["CREATE TABLE on the read-only trace file", (db) => db.exec("CREATE TABLE t (a)")],
  ["the data is unchanged after the refused writes", (db) => db.exec("SELECT count(*) FROM spans; SELECT count(*) FROM traces")],
];

for (const [what, fn] of calls) compare(what, attempt(() => fn(theirDb)), attempt(() => fn(ourDb)));

// tracedrop's file stays read-only even when query_only is switched off.
{
  const r = attempt(() => ourDb.exec("PRAGMA query_only=0; DELETE FROM spans"));
  check(r.error === "attempt to write a readonly database", "query_only=0 does not make the trace file writable", r.error ?? "no error");
  const count = ourDb.exec("SELECT count(*) FROM spans")[0].values[0][0];
  check(count === theirDb.exec("SELECT count(*) FROM spans")[0].values[0][0], "no span was deleted", String(count));
}

// export(): the same database, readable by the other library.
{
  const ours = ourDb.export();
  const theirs = theirDb.export();
  check(ours instanceof Uint8Array && ours.length === bytes.length, "export() gives the file's bytes", `${ours.length} of ${bytes.length} bytes`);
  const identical = ours.length === theirs.length && ours.every((b, i) => b === theirs[i]);
  console.log(`     export bytes ${identical ? "identical to" : "differ from"} sql.js's export (${theirs.length} bytes)`);
  const q = "SELECT count(*), sum(length(attributes)), max(span_id) FROM spans";
  const viaSqlJs = new SqlJs.Database(ours);
  const viaTd = new Td.Database(theirs);
  compare("tracedrop's export opened by sql.js; sql.js's export opened by tracedrop", attempt(() => viaSqlJs.exec(q)), attempt(() => viaTd.exec(q)));
  viaSqlJs.close();
  viaTd.close();
}

// An empty database: writable in both.
{
  const build = (SQL) => () => {
    const db = new SQL.Database();
    db.run("CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n)");
    db.run("INSERT INTO t VALUES (?, ?, ?, ?, ?)", [1, 2.5, "one", new Uint8Array([1, 2]), null]);
    db.run("INSERT INTO t VALUES (:i, :r, :s, :b, :n)", { ":i": 2147483648, ":r": -0.125, ":s": "", ":b": new Uint8Array(0), ":n": 7 });
    const modified = db.getRowsModified();
    db.run("INSERT INTO t (i) VALUES (3); INSERT INTO t (i) VALUES (4)");
    const rows = db.exec("SELECT i, typeof(i), r, s, b, typeof(b), n FROM t ORDER BY rowid");
    const random = db.exec("SELECT typeof(random()), length(randomblob(8))");
    const exported = db.export();
    db.close();
    const closed = attempt(() => db.exec("SELECT 1"));
    const reopened = new SQL.Database(exported);
    const again = reopened.exec("SELECT count(*), sum(i) FROM t");
    reopened.close();
    return { modified, rows, random, closed, again, exportedHeader: Array.from(exported.subarray(0, 16)) };
  };
  compare("an empty database: create, insert, select, export, close, reopen", attempt(build(SqlJs)), attempt(build(Td)));
  compare("empty bytes give an empty database", attempt(() => new SqlJs.Database(new Uint8Array(0)).exec("SELECT count(*) FROM sqlite_master")),
    attempt(() => new Td.Database(new Uint8Array(0)).exec("SELECT count(*) FROM sqlite_master")));
}

theirDb.close();
ourDb.close();
compare("a closed database", attempt(() => theirDb.exec("SELECT 1")), attempt(() => ourDb.exec("SELECT 1")));
compare("close twice", attempt(() => theirDb.close()), attempt(() => ourDb.close()));

// --- the worker protocol -------------------------------------------------------------------
function runWorker(file, options, messages) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(file, options);
    const answers = [];
    let index = 0;
    const timer = setTimeout(() => {
      worker.terminate();
      reject(new Error(`worker ${path.basename(file)}: no answer to message ${index} after 60 s`));
    }, 60000);
    const send = () => {
      if (index >= messages.length) {
        clearTimeout(timer);
        worker.terminate().then(() => resolve(answers));
        return;
      }
      worker.postMessage(messages[index]);
    };
    worker.on("message", (m) => {
      answers.push(m);
      // "each" answers one message per row and then {finished: true}; the rest answer once.
      if (messages[index].action === "each" && m.finished === false) return;
      index++;
      send();
    });
    worker.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    send();
  });
}

const protocol = [
  { id: 1, action: "open", buffer: bytes.slice().buffer },
  { id: 2, action: "exec", sql: "PRAGMA query_only=1" },
  { id: 3, action: "exec", sql: "SELECT span_id, name FROM spans WHERE trace_id = ? ORDER BY span_id", params: [traceId] },
  { id: 31, action: "exec", sql: "SELECT count(*) FROM traces; SELECT name, count(*) FROM spans GROUP BY 1 ORDER BY 1" },
  { id: 32, action: "exec", sql: "SELECT 1; SELECT ?", params: [1] },
  { id: 4, action: "each", sql: "SELECT id, name, attributes FROM span_events WHERE id < $n ORDER BY id", params: { $n: 6 } },
  { id: 5, action: "exec", sql: "SELECT * FROM no_such_table" },
  { id: 6, action: "exec", sql: "DELETE FROM spans" },
  { id: 7, action: "getRowsModified" },
  { id: 8, action: "export" },
  { id: 9, action: "exec", sql: "SELECT x'00ff', 1.5, NULL, 9007199254740993" },
  { id: 10, action: "nonsense" },
  { id: 11, action: "close" },
  { id: 12, action: "exec", sql: "SELECT 'a fresh database after close'" },
  { id: 13, action: "open" },
  { id: 14, action: "exec", sql: "CREATE TABLE t (a); INSERT INTO t VALUES (1), (2); SELECT sum(a) FROM t" },
  { id: 15, action: "close" },
];
// Exported bytes are compared by length and header (tracedrop's export is checked above).
const simplify = (answers) => answers.map((m) => (m.buffer instanceof Uint8Array
  ? { ...m, buffer: { length: m.buffer.length, header: Buffer.from(m.buffer.subarray(0, 16)).toString("latin1") } }
  : m));
try {
  const theirs = await runWorker(sqljsWorker, {}, protocol);
  const ours = await runWorker(path.join(root, "wasm/js/sqljs_worker.mjs"), { workerData: { moduleUrl: modulePath } }, protocol);
  check(ours.length === theirs.length, "worker: the same number of answers", `${theirs.length} / ${ours.length}`);
  const a = simplify(theirs);
  const b = simplify(ours);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const t = a[i] ?? {};
    const o = b[i] ?? {};
    const label = `worker answer ${i} (id ${t.id ?? o.id})`;
    if (t.error !== undefined || o.error !== undefined) compare(label, { error: t.error ?? "(no error)" }, { error: o.error ?? "(no error)" });
    else compare(label, { value: t }, { value: o });
  }
} catch (e) {
  check(false, "worker protocol", e.message);
}

if (failed) {
  console.error(`sqljs_compat_test: ${failed} failures`);
  process.exit(1);
}
console.log(`sqljs_compat_test: all passed (${loose} error messages equal only after a prefix)`);
