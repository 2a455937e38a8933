// sql.js's worker message protocol over tracedrop's sql.js-compatible surface (sqljs.mjs).
// Started as a module worker (browser) or a worker_threads Worker (Node), it answers messages
// exactly as sql.js's worker does:
//
//   {id, action: "open", buffer?}        -> {id, ready: true}
//   {id, action: "exec", sql, params?}   -> {id, results: [{columns, values}]}
//   {id, action: "each", sql, params?}   -> {id, row, finished: false} per row, then {id, finished: true}
//   {id, action: "export"}               -> {id, buffer: Uint8Array}
//   {id, action: "getRowsModified"}      -> {id, rowsModified}
//   {id, action: "close"}                -> {id}
//   any failure                          -> {id, error: message}
//
// The module is found through `config.moduleUrl` of the first message, or `workerData.moduleUrl`
// in Node, or loadTracedrop's default. `createMessageHandler` is the same handler without a
// worker, for tests and for hosts with a transport of their own.
import initSqlJs from "./sqljs.mjs";

/**
 * @param {(message: object) => void} post where answers go
 * @param {object} [options] initSqlJs options used when the first message has no config
 * @returns {(data: object) => Promise<void>} handles one message; messages are answered in order
 */
export function createMessageHandler(post, options = {}) {
  let sqlReady = null;
  let db = null;
  let queue = Promise.resolve();

  const openDb = (SQL, data) => {
    if (db !== null) db.close();
    db = new SQL.Database(data);
    return db;
  };

  const handle = (SQL, data) => {
    const id = data && data.id;
    const config = (data && data.config) || {};
    switch (data && data.action) {
      case "open": {
        const buffer = data.buffer;
        openDb(SQL, buffer ? new Uint8Array(buffer) : undefined);
        return post({ id, ready: true });
      }
      case "exec":
        if (db === null) openDb(SQL);
        if (!data.sql) throw new Error("exec: Missing query string");
        return post({ id, results: db.exec(data.sql, data.params, config) });
      case "getRowsModified":
        return post({ id, rowsModified: db === null ? 0 : db.getRowsModified() });
      case "each":
        if (db === null) openDb(SQL);
        return db.each(
          data.sql,
          data.params,
          (row) => post({ id, row, finished: false }),
          () => post({ id, finished: true }),
          config,
        );
      case "export":
        if (db === null) throw new Error("Database closed");
        return post({ id, buffer: db.export() });
      case "close":
        if (db !== null) {
          db.close();
          db = null;
        }
        return post({ id });
      default:
        throw new Error(`Invalid action : ${data && data.action}`);
    }
  };

  return (data) => {
    if (sqlReady === null) {
      const config = (data && data.config) || {};
      sqlReady = initSqlJs({ ...options, ...(config.moduleUrl ? { moduleUrl: config.moduleUrl } : {}) });
    }
    queue = queue
      .then(() => sqlReady)
      .then((SQL) => {
        handle(SQL, data);
      })
      .catch((e) => {
        post({ id: data && data.id, error: e && e.message !== undefined ? e.message : String(e) });
      });
    return queue;
  };
}

// Started as a worker: wire the handler to the message port.
const isNode = typeof process === "object" && process.versions != null && process.versions.node != null;
if (isNode) {
  const { parentPort, workerData } = await import("node:worker_threads");
  if (parentPort) {
    const options = workerData && workerData.moduleUrl ? { moduleUrl: workerData.moduleUrl } : {};
    const handler = createMessageHandler((message) => parentPort.postMessage(message), options);
    parentPort.on("message", handler);
  }
} else if (typeof self === "object" && typeof self.postMessage === "function" && typeof window === "undefined") {
  const handler = createMessageHandler((message) => self.postMessage(message));
  self.onmessage = (event) => handler(event.data);
}
