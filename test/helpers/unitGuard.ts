/**
 * Loaded (mocha `--require`) for the unit suite only: a unit test may not start a process or
 * open a socket. Project code that tries, under a unit test, throws an error saying which call
 * it was and that the test belongs in test/integration; so the unit suite stays fast and a
 * test cannot quietly depend on a server. Calls made by libraries for their own purposes (the
 * TypeScript loader's compiler service) are let through: only stacks that pass through the
 * project's own files are refused.
 */
import * as path from "node:path";
// The modules themselves, not the read-only namespace objects an ES import gives: a property
// patched on them is what every caller's `child_process.spawn(...)` then reaches.
// eslint-disable-next-line @typescript-eslint/no-require-imports
import childProcess = require("node:child_process");
// eslint-disable-next-line @typescript-eslint/no-require-imports
import net = require("node:net");

const ROOT = path.resolve(__dirname, "..", "..");

/** Whether the current call comes from the project's code (not from a library on its own). */
function fromProject(stack: string): boolean {
  return stack
    .split("\n")
    .slice(1)
    .some((line) => line.includes(ROOT) && !line.includes(`${ROOT}${path.sep}node_modules`) && !line.includes(__filename));
}

function refuse(what: string): never {
  throw new Error(`${what} in a unit test: unit tests run no processes and open no sockets; move the test to test/integration`);
}

function guard<T extends object>(owner: T, names: readonly (keyof T)[], what: string): void {
  for (const name of names) {
    const original = owner[name] as unknown as (...args: unknown[]) => unknown;
    if (typeof original !== "function") continue;
    Object.defineProperty(owner, name, {
      configurable: true,
      writable: true,
      value: function (this: unknown, ...args: unknown[]) {
        if (fromProject(new Error().stack ?? "")) refuse(`${what}.${String(name)}`);
        return original.apply(this, args);
      },
    });
  }
}

guard(childProcess, ["spawn", "spawnSync", "exec", "execSync", "execFile", "execFileSync", "fork"], "child_process");
guard(net.Server.prototype, ["listen"], "net.Server");
guard(net.Socket.prototype, ["connect"], "net.Socket");
