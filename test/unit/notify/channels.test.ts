import * as assert from "node:assert/strict";
import { notificationFor } from "../../../automation/notify/events";
import { slackMessage } from "../../../automation/notify/slack";
import { fixtureTransitions } from "../../helpers/notifyFixtures";

const t = fixtureTransitions();
const rollback = notificationFor(t[3].record, t[3].entry, "checkout");
const step = notificationFor(t[2].record, t[2].entry, "checkout");

describe("notify channels", () => {
  describe("slack message", () => {
    it("a rollback: title, fields, the judge's reasons and numbers, rollout and trigger", () => {
      assert.deepEqual(slackMessage(rollback), {
        text: ":rotating_light: Rolling back: checkout v2.5.0 on prod: errors: canary 4.1% vs baseline 0.5%, e-value 412 ≥ 200",
        blocks: [
          { type: "section", text: { type: "mrkdwn", text: "*:rotating_light: Rolling back*\nerrors: canary 4.1% vs baseline 0.5%, e-value 412 ≥ 200" } },
          {
            type: "section",
            fields: [
              { type: "mrkdwn", text: "*Service*\ncheckout" },
              { type: "mrkdwn", text: "*Stack*\nprod" },
              { type: "mrkdwn", text: "*Phase*\nRollingBack" },
              { type: "mrkdwn", text: "*Step*\n2 of 2 (weight 25%)" },
              { type: "mrkdwn", text: "*Canary*\nv2.5.0" },
              { type: "mrkdwn", text: "*Stable*\nv2.4.0" },
            ],
          },
          {
            type: "section",
            text: {
              type: "mrkdwn",
              text: [
                "*Judge: rollback* after 85s observed",
                "• errors: canary 4.1% vs baseline 0.5%, e-value 412 ≥ 200",
                "`errors` breached: canary 4.1% vs baseline 0.5% over 1200 canary requests; ratio 8.2 [3.1, ∞], e-value 412 (rollback at 200)",
                "`errorRate` guardrail ok: 4.1% (lower bound 3.2%, limit 5%) over 1200 requests",
              ].join("\n"),
            },
          },
          { type: "context", elements: [{ type: "mrkdwn", text: "rollout 20260101T000000000Z-v2.5.0 · 2026-01-01T00:06:40.000Z · trigger: analysis" }] },
        ],
      });
    });

    it("a step names the step 1-based with its weight", () => {
      assert.equal(slackMessage(step).text, ":arrow_forward: Step 2 of 2 (weight 25%): checkout v2.5.0 on prod: step 0 passed; weight 25");
    });
  });
});
