import * as assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { notificationsSchema } from "../../../automation/notify/config";
import { notificationFor } from "../../../automation/notify/events";
import { REDACTED } from "../../../automation/notify/redact";
import { RolloutNotifications } from "../../../automation/notify/rollout";
import { SlackNotifier } from "../../../automation/notify/slack";
import { NOTIFICATION_TYPES, NotifyError } from "../../../automation/notify/types";
import { WebhookNotifier } from "../../../automation/notify/webhook";
import { fixtureTransitions } from "../../helpers/notifyFixtures";
import { Receiver, withReceivers } from "../../helpers/receiver";

const TOKENS = ["T0SECRETAA", "B0SECRETBB", "xoxbSECRETTOKEN123", "QUERYSECRET99", "SECRETPASS123"];

/** Every form of the URL and its parts that must never show. */
function forbidden(url: string): string[] {
  const u = new URL(url);
  return [url, encodeURIComponent(url), `${u.pathname}${u.search}`, ...TOKENS.filter((t) => url.includes(t))];
}

function assertClean(what: string, text: string, url: string): void {
  for (const f of forbidden(url)) assert.ok(!text.includes(f), `${what} contains ${JSON.stringify(f)}: ${text}`);
}

/** Captures everything written to stdout and stderr while `f` runs. */
async function capturingOutput<T>(f: () => Promise<T>): Promise<{ result: T; output: string }> {
  const chunks: string[] = [];
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const capture = (chunk: unknown): boolean => {
    chunks.push(String(chunk));
    return true;
  };
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  try {
    return { result: await f(), output: chunks.join("") };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

/** The receiver's error answer: the URL it was called at, echoed, and the token on its own. */
function echoingFailure(r: Receiver): void {
  r.fallback = (req, base) => ({ status: 500, body: `invalid token for ${base}${req.path} (token xoxbSECRETTOKEN123, ${encodeURIComponent(base + req.path)})` });
}

describe("notify secrets over HTTP", () => {

  for (const kind of ["slack", "webhook"] as const) {
    const make = (url: string) => (kind === "slack" ? new SlackNotifier({ name: "slack[0]", url, events: NOTIFICATION_TYPES, timeoutMs: 5000 }) : new WebhookNotifier({ name: "webhook[0]", url, events: NOTIFICATION_TYPES, timeoutMs: 5000 }));
    const event = notificationFor(fixtureTransitions()[3].record, fixtureTransitions()[3].entry, "checkout");

    it(`${kind}: an error body echoing the URL and its token is scrubbed from the error`, async () => {
      await withReceivers(1, async (r) => {
        echoingFailure(r);
        const url = `${r.base}/services/T0SECRETAA/B0SECRETBB/xoxbSECRETTOKEN123?key=QUERYSECRET99`;
        const e = await make(url).send(event, new AbortController().signal).then(
          () => assert.fail("expected a rejection"),
          (x: unknown) => x as NotifyError,
        );
        assert.ok(e instanceof NotifyError);
        assert.equal(e.message, `${kind}[0]: HTTP 500: invalid token for ${REDACTED} (token ${REDACTED}, ${REDACTED})`);
        assertClean("error", `${e.message}\n${e.stack}\n${JSON.stringify(e)}`, url);
        // The receiver did get the real URL: the scrubbing is in what we report, not in what we call.
        assert.equal(r.requests[0].path, "/services/T0SECRETAA/B0SECRETBB/xoxbSECRETTOKEN123?key=QUERYSECRET99");
      });
    });

    it(`${kind}: an HTTP-client error quoting the URL (credentials in it) is scrubbed and permanent`, async () => {
      await withReceivers(1, async (r) => {
        const url = `${r.base.replace("http://", "http://hookuser:SECRETPASS123@")}/hook/xoxbSECRETTOKEN123`;
        const e = await make(url).send(event, new AbortController().signal).then(
          () => assert.fail("expected a rejection"),
          (x: unknown) => x as NotifyError,
        );
        assert.deepEqual([e.message, e.retryable], [`${kind}[0]: request failed: Request cannot be constructed from a URL that includes credentials: ${REDACTED}`, false]);
        assertClean("error", `${e.message}\n${e.stack}`, url);
        assert.equal(r.requests.length, 0);
      });
    });
  }

  it("end to end: no output, log line, delivered body, count or incident file contains the URLs or their parts", async () => {
    await withReceivers(2, async (slack, hook) => {
      echoingFailure(slack);
      echoingFailure(hook);
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), "canary-secrets-"));
      try {
        const env = {
          SLACK_WEBHOOK_URL: `${slack.base}/services/T0SECRETAA/B0SECRETBB/xoxbSECRETTOKEN123`,
          DEPLOY_HOOK_URL: `${hook.base}/hooks/xoxbSECRETTOKEN123?key=QUERYSECRET99`,
        };
        const config = notificationsSchema.parse({
          channels: [
            { type: "slack", urlEnv: "SLACK_WEBHOOK_URL" },
            { type: "webhook", urlEnv: "DEPLOY_HOOK_URL" },
          ],
          retry: { attempts: 2, initialDelay: "1ms", maxDelay: "2ms" },
        });
        const { result, output } = await capturingOutput(async () => {
          // The default log: stderr.
          const n = RolloutNotifications.fromConfig(config, { service: "checkout", sources: { env }, defaultIncidentDir: dir, random: () => 1 });
          for (const t of fixtureTransitions()) n.observe({ kind: "transition", ...t });
          return n.flush(10_000);
        });
        assert.deepEqual(result.notifications, { delivered: 0, failed: 10, dropped: 0, abandoned: 0, pending: 0, attempts: 20 });
        assert.equal(output.split("\n").filter((l) => l.startsWith("notify: ")).length, 20);
        const files = await Promise.all(result.incidents.map((f) => fs.readFile(f, "utf8")));
        assert.equal(files.length, 2);
        const recorded = [output, JSON.stringify(result), ...files, ...slack.requests.map((q) => q.body), ...hook.requests.map((q) => q.body)].join("\n");
        assertClean("recorded output", recorded, env.SLACK_WEBHOOK_URL);
        assertClean("recorded output", recorded, env.DEPLOY_HOOK_URL);
        assert.equal(output.split("\n")[0], `notify: slack[0]: attempt 1 of 2 for start of rollout 20260101T000000000Z-v2.5.0 failed (slack[0]: HTTP 500: invalid token for ${REDACTED} (token ${REDACTED}, ${REDACTED})); retrying in 1ms`);
      } finally {
        await fs.rm(dir, { recursive: true, force: true });
      }
    });
  });
});
