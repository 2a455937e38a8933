// A tiny static HTTP server for the browser tests. Every URL starts with a mode:
//
//   /iso/...    answered with COOP same-origin + COEP require-corp (the page is cross-origin
//               isolated: SharedArrayBuffer exists, cancellation through a shared flag)
//   /plain/...  no isolation headers (no SharedArrayBuffer: cancellation restarts the worker)
//
// followed by a mount name and a path inside it: /iso/repo/web/client.mjs, /plain/module/tracedrop.wasm.
// Only files inside the mounts (and, for a mount with `allow`, under one of its allowed
// subdirectories) are served: no directory listings, no `..`.
import { createReadStream, statSync } from "node:fs";
import http from "node:http";
import path from "node:path";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".db": "application/octet-stream",
};

/**
 * @param {Record<string, {dir: string, allow?: string[]}>} mounts  mount name -> directory
 * @returns {Promise<{origin: string, close(): Promise<void>, requests: string[]}>}
 */
export async function startServer(mounts) {
  const requests = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://localhost");
    requests.push(url.pathname);
    const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    const [mode, mount, ...rest] = parts;
    const headers = { "cache-control": "no-store" };
    if (mode === "iso") {
      headers["cross-origin-opener-policy"] = "same-origin";
      headers["cross-origin-embedder-policy"] = "require-corp";
      headers["cross-origin-resource-policy"] = "same-origin";
    }
    const entry = mounts[mount];
    const inside = rest.join("/");
    if ((mode !== "iso" && mode !== "plain") || !entry || rest.some((p) => p === ".." || p.includes("\\")) ||
        (entry.allow && !entry.allow.some((a) => inside.startsWith(a)))) {
      res.writeHead(404, headers).end("not found");
      return;
    }
    const file = path.join(entry.dir, ...rest);
    if (!file.startsWith(path.resolve(entry.dir) + path.sep)) {
      res.writeHead(404, headers).end("not found");
      return;
    }
    let st;
    try {
      st = statSync(file);
    } catch {
      res.writeHead(404, headers).end("not found");
      return;
    }
    if (!st.isFile()) {
      res.writeHead(404, headers).end("not found");
      return;
    }
    headers["content-type"] = TYPES[path.extname(file)] ?? "application/octet-stream";
    headers["content-length"] = String(st.size);
    res.writeHead(200, headers);
    createReadStream(file).pipe(res);
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address();
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}
