// Run a Python script under MicroPython (WebAssembly port) with the board firmware
// importable as the `firmware` package, laid out as on the board (/firmware/*.py).
//
//   node firmware_bridge/wasm/run_micropython.mjs <firmware dir> <script.py>
//
// The script's stdout goes to stdout; an uncaught Python exception is printed to
// stderr and the exit code is 1. Needs `npm ci --prefix firmware_bridge/wasm` once.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";

const [firmwareDir, scriptPath] = process.argv.slice(2);
if (!firmwareDir || !scriptPath) {
  console.error("usage: node run_micropython.mjs <firmware dir> <script.py>");
  process.exit(2);
}

const mp = await loadMicroPython({
  heapsize: 4 * 1024 * 1024,
  stdout: (line) => process.stdout.write(line + "\n"),
  stderr: (line) => process.stderr.write(line + "\n"),
});

mp.FS.mkdir("/firmware");
for (const name of readdirSync(firmwareDir).sort()) {
  if (name.endsWith(".py")) {
    mp.FS.writeFile("/firmware/" + name, readFileSync(join(firmwareDir, name)));
  }
}

try {
  mp.runPython("import sys\nsys.path.insert(0, '/')\n");
  mp.runPython(readFileSync(scriptPath, "utf8"));
} catch (err) {
  process.stderr.write(String(err && err.message ? err.message : err) + "\n");
  process.exitCode = 1;
}
