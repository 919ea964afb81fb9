/**
 * Atomic file replacement: write a temporary file in the same directory, flush it, rename it
 * over the target. A reader (node-exporter's textfile collector, a person opening an incident
 * file) sees the old content or the new, never half a file.
 */
import * as fs from "node:fs/promises";
import * as path from "node:path";

/**
 * Writes `text` to `file` atomically, creating the directory. The temporary name starts with a
 * dot and ends in `.tmp`, so collectors that read `*.prom` never pick it up.
 */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2, 8)}.tmp`);
  const handle = await fs.open(tmp, "w");
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}
