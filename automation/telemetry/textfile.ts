/**
 * Writes a registry for node-exporter's textfile collector
 * (`--collector.textfile.directory`): `<dir>/<name>.prom`, replaced atomically so the
 * collector never reads half a file. Useful where nothing can scrape the driver (a CI job
 * behind NAT) but the machine's node-exporter is scraped.
 */
import * as path from "node:path";
import { Registry } from "prom-client";
import { writeFileAtomic } from "../atomicFile";

/** The default file name. */
export const DEFAULT_TEXTFILE = "canary_rollout.prom";

/** Writes `registry` to `<dir>/<file>` atomically and returns the path. */
export async function writeTextfile(registry: Registry, dir: string, file = DEFAULT_TEXTFILE): Promise<string> {
  if (!file.endsWith(".prom")) throw new Error(`textfile ${file}: the name must end in .prom (node-exporter reads only *.prom files)`);
  const target = path.join(dir, file);
  await writeFileAtomic(target, await registry.metrics());
  return target;
}

/**
 * Rewrites the textfile whenever asked, without blocking the caller: `update()` returns at
 * once; writes never overlap, and updates that arrive during a write are folded into one more
 * write. Errors go to `log` (and {@link TextfileWriter.lastError}), never to the caller.
 */
export class TextfileWriter {
  /** The last write's error, or `undefined` after a successful write. */
  lastError?: Error;
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;
  private busy = false;

  constructor(
    private readonly registry: Registry,
    readonly dir: string,
    readonly file = DEFAULT_TEXTFILE,
    private readonly log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  ) {}

  /** Schedules a rewrite. */
  update(): void {
    this.dirty = true;
    if (this.busy) return;
    this.busy = true;
    this.writing = this.drain();
  }

  /** Resolves once every requested write is done. */
  flush(): Promise<void> {
    return this.writing;
  }

  private async drain(): Promise<void> {
    try {
      while (this.dirty) {
        this.dirty = false;
        try {
          await writeTextfile(this.registry, this.dir, this.file);
          this.lastError = undefined;
        } catch (e) {
          this.lastError = e instanceof Error ? e : new Error(String(e));
          this.log(`telemetry: cannot write ${path.join(this.dir, this.file)}: ${this.lastError.message}`);
        }
      }
    } finally {
      this.busy = false;
    }
  }
}
