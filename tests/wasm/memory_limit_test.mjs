// Above the browser's limits: a request that needs more than the 4 GB a wasm module can have
// answers a clear too_large error instead of aborting, and the module keeps working.
// (Uses about 4 GB of memory for a few seconds.)
//
//   node tests/wasm/memory_limit_test.mjs --module build/wasm/wasm/tracedrop.js --db some.db
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

import { loadTracedrop, Session } from "../../wasm/js/tracedrop.mjs";
import { pathArg } from "./test_args.mjs";

const td = await loadTracedrop({ moduleUrl: pathToFileURL(pathArg("--module", "")) });
const s = new Session(td);
const bytes = readFileSync(pathArg("--db", ""));
let failed = 0;
const check = (ok, what, detail) => {
  console.log(`${ok ? "ok  " : "FAIL"} ${what} (${detail})`);
  if (!ok) failed++;
};

let r = s.openBytes(bytes, "limits.db");
check(r.ok, "opens", r.ok ? "" : r.message);
const before = s.stats();
// Five 900 MB text cells: the result cannot fit in 4 GB.
r = s.sql("SELECT printf('%.*c', 900000000, 'x') FROM (SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5)", 0);
check(!r.ok && r.name === "too_large" && /Out of memory/.test(r.message), "a result bigger than 4 GB: too_large", r.ok ? "it succeeded" : `${r.name}: ${r.message}`);
const after = s.stats();
check(after.ok && after.value === before.value, "the session still answers the same afterwards", after.ok ? "" : after.message);
s.close();
r = s.openBytes(bytes, "limits.db");
check(r.ok, "and opens files again", r.ok ? "" : r.message);
s.delete();
if (failed) process.exit(1);
console.log("memory_limit_test: all passed");
