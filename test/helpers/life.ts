/**
 * A process that can be killed at any operation it makes on the world: every call it makes goes
 * through its {@link Life}, which fails it once the process is dead. The kill-and-resume tests of
 * the rollout and of the wave drivers use it to kill a driver at every boundary in turn.
 */

/** Thrown at a process that is dead: nothing it does reaches the world any more. */
export class Dead extends Error {
  constructor() {
    super("the process is dead");
    this.name = "Dead";
  }
}

/** One process's life: it dies at operation `killAt.op`, before or during it. */
export class Life {
  ops = 0;
  dead = false;
  readonly names: string[] = [];
  constructor(private readonly killAt?: { readonly op: number; readonly when: "before" | "during" }) {}
  async run<T>(name: string, f: () => Promise<T>): Promise<T> {
    if (this.dead) throw new Dead();
    // Operations of several rollouts overlap: each knows its own number.
    const n = ++this.ops;
    this.names.push(name);
    if (this.killAt?.op === n && this.killAt.when === "before") {
      this.dead = true;
      throw new Dead();
    }
    // Killed during it: the operation happens (or fails), but the process never learns how.
    const settled = await f().then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    if (this.killAt?.op === n && this.killAt.when === "during") this.dead = true;
    if (this.dead) throw new Dead();
    if ("error" in settled) throw settled.error;
    return settled.value;
  }
}
