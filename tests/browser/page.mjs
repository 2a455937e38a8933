// Helpers for worker_test.mjs, run in the test page: the chosen files, clients by name, hashes.
import { parseAnswer, TracedropClient } from "../../web/client.mjs";

const files = new Map();
document.getElementById("files").addEventListener("change", (event) => {
  for (const file of event.target.files) files.set(file.name, file);
});

const clients = new Map();
const restarts = new Map();

async function sha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function concat(chunks) {
  const total = chunks.reduce((n, c) => n + c.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

const errorText = (r) => `error ${r.code} ${r.name}\n${r.message}\n`;

/** One shared case (tests/cases/cases.json, not a cancel case) on an open client, as run_cases.mjs runs it. */
async function runOp(client, c) {
  let pending;
  const chunks = [];
  switch (c.op) {
    case "open": pending = client.summary(); break;
    case "stats": pending = client.stats(); break;
    case "list": pending = client.traceList(c.options ?? ""); break;
    case "show": pending = client.traceTree(c.trace); break;
    case "span": pending = client.span(c.span); break;
    case "conversation": pending = client.conversation(c.trace); break;
    case "search": pending = client.search(c.text, { limit: c.limit }); break;
    case "query_traces": pending = client.queryTraces(c.request); break;
    case "query_spans": pending = client.querySpans(c.request); break;
    case "query_metrics": pending = client.queryMetrics(c.request); break;
    case "sql": pending = client.sql(c.statement, { maxRows: c.max_rows }); break;
    case "export":
      pending = client.export(c.request, { chunkBytes: 16384, onChunk: (b) => chunks.push(b) });
      break;
    default: throw new Error(`unknown op ${c.op}`);
  }
  const answer = await pending;
  const bytes = concat(chunks);
  return { text: answer.ok ? answer.value : errorText(answer), exportHash: await sha256(bytes), exportLength: bytes.byteLength };
}

window.t = {
  files,
  clients,
  restarts,
  parseAnswer,
  sha256,
  concat,
  errorText,
  isolated: globalThis.crossOriginIsolated === true,

  /** A new client under `name` (restart events are recorded in restarts.get(name)). */
  client(name, options = {}) {
    const old = clients.get(name);
    if (old) old.terminate();
    const events = [];
    restarts.set(name, events);
    const client = new TracedropClient({ ...options, onWorkerRestart: (e) => events.push(e) });
    clients.set(name, client);
    return client;
  },

  file(name) {
    const f = files.get(name);
    if (!f) throw new Error(`no file ${name} was chosen`);
    return f;
  },

  /** Runs shared cases: each opens its database (bytes or VFS), answers, closes. */
  async runCases(clientName, cases, mode) {
    const client = clients.get(clientName);
    const out = [];
    for (const c of cases) {
      const file = this.file(c.fileName);
      const options = c.open_options ? JSON.parse(c.open_options) : {};
      const opened = await client.open(file, { options, ...(mode === "vfs" ? { bytesLimit: 0 } : {}) });
      let result;
      if (opened.ok) result = await runOp(client, c);
      else result = { text: `open ${errorText(opened)}`, exportHash: await sha256(new Uint8Array(0)), exportLength: 0 };
      const closed = await client.close();
      out.push({ name: c.name, mode, via: opened.ok ? opened.via : null, size: file.size, closed: closed.ok, ...result });
    }
    return out;
  },
};
document.getElementById("out").textContent = "ready";
window.pageReady = true;

/** Sends a command to the spy worker(s) tagged `tag` and waits for the answer. */
window.t.spy = (tag, command) =>
  new Promise((resolve, reject) => {
    const channel = new BroadcastChannel("tracedrop-spy");
    const timer = setTimeout(() => {
      channel.close();
      reject(new Error(`spy ${tag} did not answer ${command.op}`));
    }, 10000);
    channel.onmessage = (event) => {
      if (!event.data || event.data.tag !== tag) return;
      clearTimeout(timer);
      channel.close();
      resolve(event.data);
    };
    channel.postMessage({ ...command, tag });
  });
