// A sql.js-compatible surface over tracedrop's module (the same SQLite build as the core), for
// code written against sql.js: `initSqlJs(config)` answers `{Database, Statement}`.
//
//   import initSqlJs from "./sqljs.mjs";
//   const SQL = await initSqlJs();                      // or initSqlJs({module}) to reuse one
//   const db = new SQL.Database(bytes);                 // a trace file's bytes: read-only
//   const [{columns, values}] = db.exec("SELECT count(*) FROM spans WHERE trace_id = ?", [id]);
//
// Differences from sql.js (wasm/README.md): a database opened from bytes is read-only (writes
// fail with SQLite's "attempt to write a readonly database"); `new Database()` is an empty,
// writable in-memory database as in sql.js. Every error is an Error (sql.js throws a few plain
// strings, such as "Statement closed"). No user functions, update hooks or iterateStatements.
import { loadTracedrop } from "./tracedrop.mjs";

const apiByModule = new WeakMap();

/**
 * @param {{module?: object, moduleUrl?: string|URL, wasmBinary?: Uint8Array}} [config]
 *   `module`: an already loaded tracedrop module; otherwise one is loaded (loadTracedrop).
 * @returns {Promise<{Database: Function, Statement: Function}>}
 */
export default async function initSqlJs(config = {}) {
  const module = config.module ?? (await loadTracedrop({ moduleUrl: config.moduleUrl, wasmBinary: config.wasmBinary }));
  let api = apiByModule.get(module);
  if (!api) {
    api = makeApi(module);
    apiByModule.set(module, api);
  }
  return api;
}
export { initSqlJs };

function makeApi(module) {
  class Statement {
    /** Made by Database.prepare; not meant to be constructed directly. */
    constructor(db, id) {
      this.db = db;
      this.id = id;
      this.pos = 1;
    }

    #native() {
      if (this.id === 0 || this.db.native === null) throw new Error("Statement closed");
      return this.db.native;
    }

    #check(rc) {
      if (rc < 0) throw new Error(this.db.native.errmsg());
      return rc;
    }

    /** Clears the bindings, then binds an array (?, ?NNN) or an object ({":a": 1, "$b": 2}). */
    bind(values) {
      this.#native();
      this.reset();
      if (Array.isArray(values)) {
        values.forEach((value, i) => this.bindValue(value, i + 1));
      } else if (values != null && typeof values === "object") {
        for (const name of Object.keys(values)) {
          const index = this.db.native.bindParameterIndex(this.id, name);
          if (index !== 0) this.bindValue(values[name], index);
        }
      }
      return true;
    }

    /** Binds one value at `pos` (1-based; the next position when omitted). */
    bindValue(value, pos) {
      const native = this.#native();
      if (pos == null) pos = this.pos++;
      switch (typeof value) {
        case "string":
          return this.#check(native.bindText(this.id, pos, value)) === 0;
        case "number":
        case "boolean": {
          const n = Number(value);
          // A 32-bit integer is bound as an INTEGER, anything else as a REAL (as sql.js does).
          const rc = n === (n | 0) ? native.bindInt(this.id, pos, n) : native.bindDouble(this.id, pos, n);
          return this.#check(rc) === 0;
        }
        case "bigint":
          // As sql.js: a BigInt is bound as its decimal text.
          return this.#check(native.bindText(this.id, pos, value.toString())) === 0;
        case "undefined":
          break;
        case "object":
          if (value === null) return this.#check(native.bindNull(this.id, pos)) === 0;
          if (value.length != null) return this.#check(native.bindBlob(this.id, pos, value)) === 0;
          break;
        default:
          break;
      }
      throw new Error(`Wrong API use : tried to bind a value of an unknown type (${value}).`);
    }

    /** Runs to the next row: true when a row is ready, false when done. */
    step() {
      const native = this.#native();
      this.pos = 1;
      return this.#check(native.step(this.id)) === 1;
    }

    /** The current row as an array; with params, binds them and steps first. */
    get(params, config = {}) {
      const native = this.#native();
      if (params != null && this.bind(params)) this.step();
      return native.row(this.id, Boolean(config && config.useBigInt));
    }

    getColumnNames() {
      return this.#native().columnNames(this.id);
    }

    getAsObject(params, config) {
      const values = this.get(params, config);
      const names = this.getColumnNames();
      const out = {};
      names.forEach((name, i) => {
        out[name] = values[i];
      });
      return out;
    }

    getSQL() {
      return this.#native().sql(this.id);
    }

    /** Binds `values` (when given), steps once and resets. */
    run(values) {
      if (values != null) this.bind(values);
      this.step();
      return this.reset();
    }

    /** Clears the bindings and rewinds the statement. */
    reset() {
      return this.#check(this.#native().reset(this.id)) === 0;
    }

    /** Nothing to free separately: bound values are copied into SQLite. */
    freemem() {}

    free() {
      if (this.id === 0 || this.db.native === null) return false;
      this.db.native.finalize(this.id);
      this.db.statements.delete(this.id);
      this.id = 0;
      return true;
    }
  }

  class Database {
    /**
     * @param {Uint8Array|ArrayLike<number>|null} [data] a database file's bytes, opened
     *   read-only; without it, an empty writable in-memory database.
     */
    constructor(data) {
      this.native = new module.SqlJsDb();
      this.statements = new Map();
      const bytes = data == null ? null : data instanceof Uint8Array ? data : new Uint8Array(data);
      if (this.native.open(bytes) < 0) {
        const message = this.native.errmsg();
        this.native.delete();
        this.native = null;
        throw new Error(message);
      }
      this.readOnly = bytes !== null;
    }

    #native() {
      if (this.native === null) throw new Error("Database closed");
      return this.native;
    }

    /** Runs SQL ignoring its rows; with params, only the first statement. */
    run(sql, params) {
      const native = this.#native();
      if (params) {
        const stmt = this.prepare(sql, params);
        try {
          stmt.step();
        } finally {
          stmt.free();
        }
      } else if (native.exec(String(sql)) < 0) {
        throw new Error(native.errmsg());
      }
      return this;
    }

    /**
     * Runs every statement of `sql` (params bound to each) and answers [{columns, values}] for
     * the statements that gave rows.
     */
    exec(sql, params, config) {
      const native = this.#native();
      native.setScript(String(sql));
      const results = [];
      for (;;) {
        const id = native.nextStatement();
        if (id < 0) throw new Error(native.errmsg());
        if (id === 0) break;
        const stmt = this.#adopt(id);
        try {
          if (params != null) stmt.bind(params);
          let current = null;
          while (stmt.step()) {
            if (current === null) {
              current = { columns: stmt.getColumnNames(), values: [] };
              results.push(current);
            }
            current.values.push(stmt.get(null, config));
          }
        } catch (e) {
          native.setScript("");
          throw e;
        } finally {
          stmt.free();
        }
      }
      return results;
    }

    /** Calls callback(rowObject) for every row of the first statement, then done(). */
    each(sql, params, callback, done, config) {
      if (typeof params === "function") {
        done = callback;
        callback = params;
        params = undefined;
      }
      const stmt = this.prepare(sql, params);
      try {
        while (stmt.step()) callback(stmt.getAsObject(null, config));
      } finally {
        stmt.free();
      }
      return typeof done === "function" ? done() : undefined;
    }

    /** Compiles the first statement of `sql`, binding params when given. */
    prepare(sql, params) {
      const native = this.#native();
      const id = native.prepare(String(sql));
      if (id < 0) throw new Error(native.errmsg());
      if (id === 0) throw new Error("Nothing to prepare");
      const stmt = this.#adopt(id);
      if (params != null) stmt.bind(params);
      return stmt;
    }

    /** The database file's bytes. */
    export() {
      const bytes = this.#native().exportBytes();
      if (bytes === null) throw new Error(this.native.errmsg());
      return bytes;
    }

    getRowsModified() {
      return this.#native().changes();
    }

    /** Frees every statement and the connection; later calls throw "Database closed". */
    close() {
      if (this.native === null) return;
      for (const stmt of [...this.statements.values()]) stmt.free();
      this.native.close();
      this.native.delete();
      this.native = null;
    }

    #adopt(id) {
      const stmt = new Statement(this, id);
      this.statements.set(id, stmt);
      return stmt;
    }
  }

  return { Database, Statement };
}
