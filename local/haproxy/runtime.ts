/**
 * A client for HAProxy's runtime API (the admin stats socket): weight changes without a
 * reload, and read-back so the caller can verify what HAProxy actually applied.
 */
import * as net from "node:net";
import { ScaledWeights } from "../../components/routing";
import { SERVERS } from "./config";

/** Thrown when the socket cannot be reached, times out, or HAProxy rejects a command. */
export class HaproxyRuntimeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HaproxyRuntimeError";
  }
}

/**
 * Sends one line (commands separated by `;` run in order) in non-interactive mode and returns
 * everything HAProxy wrote before closing the connection.
 */
export function runtimeCommand(socketPath: string, command: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(socketPath);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new HaproxyRuntimeError(`runtime API ${socketPath}: no answer to ${JSON.stringify(command)} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("connect", () => socket.write(`${command}\n`));
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.on("error", (e) => {
      clearTimeout(timer);
      reject(new HaproxyRuntimeError(`runtime API ${socketPath}: ${e.message}`));
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString("utf8"));
    });
  });
}

/** One server's row of `show servers state`. */
export interface ServerState {
  readonly backend: string;
  readonly server: string;
  /** Operational state: 0 stopped (down), 1 starting, 2 running, 3 stopping. */
  readonly opState: number;
  readonly adminState: number;
  /** The weight in effect (user weight). */
  readonly weight: number;
  /** The weight from the configuration file. */
  readonly initialWeight: number;
  readonly address: string;
  readonly port: number;
}

/**
 * Parses `show servers state` output (format version 1: a version line, a `#` header naming
 * the columns, one space-separated row per server). Columns are found by name, so extra
 * columns in later versions do not shift the fields.
 */
export function parseServersState(text: string): ServerState[] {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l.length > 0);
  const header = lines.find((l) => l.startsWith("#"));
  if (!header) throw new HaproxyRuntimeError(`show servers state: no header line in ${JSON.stringify(text.slice(0, 200))}`);
  const cols = header.replace(/^#\s*/, "").split(/\s+/);
  const at = (name: string): number => {
    const i = cols.indexOf(name);
    if (i < 0) throw new HaproxyRuntimeError(`show servers state: no column ${name} in ${JSON.stringify(header)}`);
    return i;
  };
  const idx = { be: at("be_name"), srv: at("srv_name"), op: at("srv_op_state"), admin: at("srv_admin_state"), uw: at("srv_uweight"), iw: at("srv_iweight"), addr: at("srv_addr"), port: at("srv_port") };
  return lines
    .filter((l) => !l.startsWith("#") && /\s/.test(l))
    .map((l) => {
      const f = l.split(/\s+/);
      return {
        backend: f[idx.be],
        server: f[idx.srv],
        opState: Number(f[idx.op]),
        adminState: Number(f[idx.admin]),
        weight: Number(f[idx.uw]),
        initialWeight: Number(f[idx.iw]),
        address: f[idx.addr],
        port: Number(f[idx.port]),
      };
    });
}

/** The state of every server (of one backend when given). */
export async function showServersState(socketPath: string, backend?: string): Promise<ServerState[]> {
  const out = await runtimeCommand(socketPath, backend ? `show servers state ${backend}` : "show servers state");
  if (/^(Can't find|Unknown|No such)/m.test(out)) throw new HaproxyRuntimeError(`show servers state ${backend ?? ""}: ${out.trim()}`);
  return parseServersState(out);
}

/** Parses `get weight` output (`"25 (initial 0)"`). */
export function parseGetWeight(text: string): { current: number; initial: number } {
  const m = /^(\d+) \(initial (\d+)\)/.exec(text.trim());
  if (!m) throw new HaproxyRuntimeError(`get weight: unexpected answer ${JSON.stringify(text.trim())}`);
  return { current: Number(m[1]), initial: Number(m[2]) };
}

/** `get weight <backend>/<server>`. */
export async function getWeight(socketPath: string, backend: string, server: string): Promise<{ current: number; initial: number }> {
  return parseGetWeight(await runtimeCommand(socketPath, `get weight ${backend}/${server}`));
}

/**
 * The `set weight` commands for a new split, in an order that never leaves both servers at
 * weight 0 (which would answer 503): the server whose weight grows is set first.
 */
export function weightCommands(backend: string, current: ScaledWeights, next: ScaledWeights, hasCanary = true): string[] {
  const stable = `set weight ${backend}/${SERVERS.stable} ${next.stable}`;
  if (!hasCanary) return [stable];
  const canary = `set weight ${backend}/${SERVERS.canary} ${next.canary}`;
  return next.canary > current.canary ? [canary, stable] : [stable, canary];
}

/**
 * Applies `next` to a backend's two servers through one runtime API connection (no reload).
 * HAProxy answers `set weight` with nothing on success, so any text is its error message.
 */
export async function setServerWeights(socketPath: string, backend: string, current: ScaledWeights, next: ScaledWeights, hasCanary = true): Promise<void> {
  const cmds = weightCommands(backend, current, next, hasCanary);
  const out = await runtimeCommand(socketPath, cmds.join("; "));
  if (out.trim() !== "") throw new HaproxyRuntimeError(`${cmds.join("; ")}: ${out.trim()}`);
}
