/**
 * Runtime fault injection for the sample service (pure): the fault schema an admin request
 * carries, and the per-request decisions (fail? how much added latency?) drawn from it.
 */
import { z } from "zod";

const ms = z.number().finite().min(0);

/** Added-latency distributions; `share` is the fraction of requests that get the delay. */
export const latencySchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("fixed"), ms, share: z.number().min(0).max(1).default(1) }),
  z.strictObject({ kind: z.literal("uniform"), minMs: ms, maxMs: ms, share: z.number().min(0).max(1).default(1) }),
  z.strictObject({ kind: z.literal("exponential"), meanMs: ms, share: z.number().min(0).max(1).default(1) }),
  z.strictObject({ kind: z.literal("lognormal"), medianMs: ms, sigma: z.number().finite().min(0), share: z.number().min(0).max(1).default(1) }),
]);

/**
 * A fault: everything optional, so `{}` is "healthy". Posting a fault replaces the previous one.
 * - `errorRate`: fraction of requests answered with `errorStatus` (default 500).
 * - `latency`: added delay drawn from a distribution.
 * - `slowStart`: extra delay of `ms` that decays linearly to 0 over `durationMs` from when the
 *   fault is applied (a cold cache or JIT warm-up).
 * - `crash`: the process exits with `exitCode` after `afterMs` (a real crash: the port closes).
 */
export const faultSchema = z.strictObject({
  errorRate: z.number().min(0).max(1).default(0),
  errorStatus: z.number().int().min(500).max(599).default(500),
  latency: latencySchema.optional(),
  slowStart: z.strictObject({ ms, durationMs: z.number().finite().positive() }).optional(),
  crash: z.strictObject({ afterMs: ms.default(0), exitCode: z.number().int().min(1).max(255).default(1) }).optional(),
});

/** A fault as a caller writes it (defaults optional). */
export type FaultSpec = z.input<typeof faultSchema>;
/** A validated fault with defaults filled in. */
export type Fault = z.output<typeof faultSchema>;
/** An added-latency distribution. */
export type Latency = z.output<typeof latencySchema>;

/** Validates a fault; the error names each bad path. */
export function parseFault(input: unknown): Fault {
  const r = faultSchema.safeParse(input);
  if (!r.success) throw new Error(r.error.issues.map((i) => `${i.path.join(".") || "fault"}: ${i.message}`).join("; "));
  return r.data;
}

/** A standard normal draw (Box–Muller). */
function normal(rng: () => number): number {
  const u = 1 - rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/** One draw of added latency in ms from a distribution (0 for requests outside `share`). */
export function sampleLatencyMs(latency: Latency, rng: () => number): number {
  if (rng() >= latency.share) return 0;
  switch (latency.kind) {
    case "fixed":
      return latency.ms;
    case "uniform":
      return latency.minMs + rng() * Math.max(0, latency.maxMs - latency.minMs);
    case "exponential":
      return -latency.meanMs * Math.log(1 - rng());
    case "lognormal":
      return latency.medianMs * Math.exp(latency.sigma * normal(rng));
  }
}

/** Total added delay for one request, `sinceAppliedMs` after the fault was applied. */
export function addedDelayMs(fault: Fault, sinceAppliedMs: number, rng: () => number): number {
  let delay = fault.latency ? sampleLatencyMs(fault.latency, rng) : 0;
  if (fault.slowStart) delay += fault.slowStart.ms * Math.max(0, 1 - sinceAppliedMs / fault.slowStart.durationMs);
  return delay;
}

/** Whether one request fails. */
export function shouldFail(fault: Fault, rng: () => number): boolean {
  return fault.errorRate > 0 && rng() < fault.errorRate;
}
