// Small helpers shared by wasm_bench.mjs and chromium_bench.mjs (Node only).
import { createReadStream, readFileSync } from "node:fs";
import os from "node:os";

export function median(values) {
  const v = values.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** [{figure: number}] -> {figure: median} over the samples that have the figure. */
export function medians(samples) {
  const keys = new Set(samples.flatMap((s) => Object.keys(s)));
  const out = {};
  for (const k of keys) {
    const values = samples.map((s) => s[k]);
    out[k] = values.some((x) => typeof x === "number") ? median(values) : values.find((x) => x != null) ?? null;
  }
  return out;
}

export function fmt(v, digits = 0) {
  if (v == null || typeof v !== "number" || !Number.isFinite(v)) return "-";
  if (Math.abs(v) < 10 && digits === 0) return v.toFixed(Math.abs(v) < 1 ? 3 : 2);
  return v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export const mb = (kb) => (kb == null ? null : kb / 1024);
export const rate = (count, ms) => (count == null || ms == null ? null : count / (ms / 1000));
export const ratio = (a, b) => (a != null && b != null && b > 0 ? a / b : null);

/** Reads the file once so that every side starts with it in the page cache. */
export async function warmPageCache(file) {
  await new Promise((resolve, reject) => {
    const stream = createReadStream(file, { highWaterMark: 8 << 20 });
    stream.on("data", () => {});
    stream.on("end", resolve);
    stream.on("error", reject);
  });
}

/** The 1, 5 and 15 minute load averages (`uptime`). */
export function loadAverage() {
  try {
    return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number);
  } catch {
    return os.loadavg();
  }
}

/** VmHWM, VmRSS, RssAnon, RssFile (kB) of a process (self by default); null once it is gone. */
export function procStatus(pid = "self") {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return null;
  }
  const out = {};
  for (const line of text.split("\n")) {
    const m = /^(VmHWM|VmRSS|RssAnon|RssFile):\s+(\d+) kB/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}
