import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { routeWebhook } from "../../../src/intake/route.ts";
import { ROOT } from "../../helpers/image.ts";

/**
 * app.yml, the manifest a new GitHub App is registered from: it must subscribe to every event intake acts
 * on (GitHub sends an app nothing else), with the permission each needs (GitHub refuses the manifest
 * otherwise). test/e2e/register-app.test.ts posts it through Probot's setup page.
 */

type Manifest = { default_events: string[]; default_permissions: Record<string, "read" | "write"> };
const manifest = parse(readFileSync(path.join(ROOT, "app.yml"), "utf8")) as Manifest;

/** Every event and action GitHub's webhook description knows (`issues` + `opened`, `push` with none). */
function webhookDeliveries(): { event: string; action: string | undefined }[] {
  const file = fileURLToPath(import.meta.resolve("@octokit/openapi-webhooks/generated/api.github.com.json"));
  const doc = JSON.parse(readFileSync(file, "utf8")) as {
    webhooks: Record<string, { post: { operationId: string } }>;
  };
  return Object.values(doc.webhooks).map(({ post }) => {
    const [event = "", action] = post.operationId.split("/");
    return { event: event.replaceAll("-", "_"), action: action?.replaceAll("-", "_") };
  });
}

/** GitHub sends these to every app; a manifest cannot subscribe to them. */
const SENT_TO_EVERY_APP = new Set(["installation", "installation_repositories"]);

/** The permission GitHub requires before an app may subscribe to each event. */
const PERMISSION_FOR: Record<string, string> = {
  issues: "issues",
  issue_comment: "issues",
  issue_dependencies: "issues",
  sub_issues: "issues",
  pull_request: "pull_requests",
  pull_request_review: "pull_requests",
  pull_request_review_comment: "pull_requests",
  push: "contents",
};

describe("app.yml", () => {
  it("subscribes to exactly the events intake acts on", () => {
    const actedOn = new Set(
      webhookDeliveries()
        .filter(({ event, action }) => {
          const route = routeWebhook(event, action === undefined ? {} : { action });
          return !(route.kind === "ignore" && route.why.endsWith("is not an event Drover acts on"));
        })
        .map(({ event }) => event),
    );
    expect([...SENT_TO_EVERY_APP].every((event) => actedOn.has(event))).toBe(true);
    const subscribable = [...actedOn].filter((event) => !SENT_TO_EVERY_APP.has(event));
    expect([...manifest.default_events].sort()).toEqual(subscribable.sort());
  });

  it("grants the permission each subscribed event needs, and the writes Drover makes", () => {
    for (const event of manifest.default_events) {
      const permission = PERMISSION_FOR[event];
      expect({ event, granted: permission && manifest.default_permissions[permission] }).toEqual({
        event,
        granted: expect.stringMatching(/^(read|write)$/),
      });
    }
    // Pushes task branches, comments and labels, opens pull requests, makes check runs.
    expect(manifest.default_permissions).toEqual({
      contents: "write",
      issues: "write",
      pull_requests: "write",
      checks: "write",
      metadata: "read",
    });
  });

  it("has no apostrophe in any value: Probot's setup page would cut the manifest short at it", () => {
    expect(JSON.stringify(manifest)).not.toContain("'");
  });
});
