// Command-line options of the Node test scripts (tests/wasm, tests/browser): `--name value`.
import path from "node:path";

/** The value after `name` on the command line, or `fallback`. */
export function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

/** arg() as an absolute path (relative ones from the working directory: the build's CTest dir or the repository). */
export function pathArg(name, fallback) {
  return path.resolve(arg(name, fallback));
}
