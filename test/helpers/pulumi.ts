/**
 * Pulumi runtime mocks shared by every test file (mocks are process-global), with a record of
 * every resource registered, so tests can assert exact child types, names, counts and inputs.
 */
import * as pulumi from "@pulumi/pulumi";

/** One resource registration as the engine would have received it. */
export interface Registered {
  readonly type: string;
  readonly name: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly inputs: any;
  readonly custom: boolean;
}

const registered: Registered[] = [];

/**
 * Outputs the mock "provider" adds to a resource's inputs, standing in for attributes the cloud
 * would compute (ids, ARNs, DNS names).
 */
function computed(args: pulumi.runtime.MockResourceArgs): Record<string, unknown> {
  const extra: Record<string, unknown> = {};
  if (args.type.startsWith("aws:")) {
    extra.arn = `arn:aws:mock:us-east-1:123456789012:${args.type.split(":")[2]}/${args.name}`;
    if (args.type === "aws:lb/loadBalancer:LoadBalancer") extra.dnsName = `${args.name}.elb.example.com`;
  }
  if (args.type === "gcp:cloudrunv2/service:Service") {
    // Cloud Run reports the service URL and, per traffic target, the tag's own URL.
    const host = `${String(args.inputs.name)}-abc123-ew.a.run.app`;
    extra.uri = `https://${host}`;
    extra.trafficStatuses = ((args.inputs.traffics ?? []) as Array<Record<string, unknown>>).map((t) => ({
      ...t,
      uri: t.tag ? `https://${String(t.tag)}---${host}` : "",
    }));
  }
  return extra;
}

void pulumi.runtime.setMocks(
  {
    newResource(args) {
      registered.push({ type: args.type, name: args.name, inputs: args.inputs, custom: args.custom ?? false });
      return { id: `${args.name}-id`, state: { ...args.inputs, ...computed(args) } };
    },
    call(args) {
      return args.inputs;
    },
  },
  "pulumi-canary",
  "test",
  false,
);

/** Forgets what earlier tests registered. */
export function resetRegistrations(): void {
  registered.length = 0;
}

/** Waits until every pending registration has reached the mocks, then returns them all. */
export async function registrations(): Promise<Registered[]> {
  await waitForRPCs();
  return [...registered];
}

/** The registrations of one resource type, in registration order. */
export async function registrationsOf(type: string): Promise<Registered[]> {
  return (await registrations()).filter((r) => r.type === type);
}

/** The value inside an Output (tests only; a program must never do this). */
export function unwrap<T>(output: pulumi.Input<T>): Promise<T> {
  return new Promise((resolve) => pulumi.output(output).apply((v) => resolve(v as T)));
}

// The runtime's own queue of outstanding resource RPCs; not in the typings, but it is how the
// SDK itself waits before disconnecting, so waiting on it is exact rather than a sleep.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };
function waitForRPCs(): Promise<void> {
  return settings.waitForRPCs();
}

/** Replaces the whole stack config (as `pulumi config` would hold it) for the next program run. */
export function setConfig(config: Record<string, unknown>): void {
  const raw: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) raw[k] = typeof v === "string" ? v : JSON.stringify(v);
  pulumi.runtime.setAllConfig(raw);
}
