import examples from "@octokit/webhooks-examples/api.github.com/index.json" with { type: "json" };
import { describe, expect, it } from "vitest";
import { routeWebhook } from "../../../src/intake/route.ts";
import { OCTO_REPO, issueClosed, issueLabeled, pullRequestClosed, pushed } from "../../helpers/payloads.ts";

type Json = Record<string, unknown>;

function githubExample(event: string, action: string): Json {
  const group = (examples as { name: string; examples: Json[] }[]).find((e) => e.name === event);
  const found = group?.examples.find((e) => e.action === action);
  if (!found) throw new Error(`no ${event}.${action} example`);
  return structuredClone(found);
}

const DISPATCH = {
  kind: "dispatch",
  repoFullName: OCTO_REPO.fullName,
  installationId: OCTO_REPO.installationId,
};
const SELF_12 = { repoFullName: OCTO_REPO.fullName, number: 12 };
/** Issue 12 as the delivery's payload shows it: recorded from there, nothing read. */
const PAYLOAD_12 = { ...SELF_12, links: false, fromDelivery: true };
const DROVER_BOT = { login: "drover[bot]", id: 99, type: "Bot" };

describe("routeWebhook", () => {
  it("starts a task when a person labels an issue, with no sync of its own (start-task is the label's sync)", () => {
    expect(routeWebhook("issues", issueLabeled({ number: 12, title: "Add a changelog" }))).toEqual({
      ...DISPATCH,
      jobs: ["start-task"],
      syncs: [],
    });
  });

  it.each(["drover:running", "drover:review", "drover:blocked", "drover:failed", "drover:anything-else"])(
    "ignores Drover's own state label %s",
    (label) => {
      expect(routeWebhook("issues", issueLabeled({ number: 12, title: "t", label }))).toMatchObject({
        kind: "ignore",
      });
    },
  );

  it("ignores a label added to a pull request", () => {
    const payload = issueLabeled({ number: 12, title: "t" });
    (payload.issue as Json).pull_request = { url: "https://api.github.com/repos/octo-org/widgets/pulls/12" };
    expect(routeWebhook("issues", payload)).toEqual({ kind: "ignore", why: "a label on a pull request" });
  });

  it.each(["completed", "not_planned"] as const)(
    "finishes the task when an issue is closed (%s), and records its state from the payload",
    (stateReason) => {
      expect(routeWebhook("issues", issueClosed({ number: 12, stateReason }))).toEqual({
        ...DISPATCH,
        jobs: ["close-task"],
        syncs: [PAYLOAD_12],
      });
    },
  );

  it("finishes the task when Drover's own merge closes the issue: its bot's close is news", () => {
    const payload = { ...issueClosed({ number: 12, stateReason: "completed" }), sender: DROVER_BOT };
    expect(routeWebhook("issues", payload, { botLogin: "drover[bot]" })).toEqual({
      ...DISPATCH,
      jobs: ["close-task"],
      syncs: [PAYLOAD_12],
    });
    const merged = {
      ...pullRequestClosed({ number: 30, headRef: "drover/12-x", merged: true }),
      sender: DROVER_BOT,
    };
    expect(routeWebhook("pull_request", merged, { botLogin: "drover[bot]" })).toMatchObject({
      jobs: ["close-task"],
    });
  });

  it("ignores a closed pull request that is not on a Drover branch", () => {
    const payload = pullRequestClosed({ number: 30, headRef: "feature/drover-ish", merged: true });
    expect(routeWebhook("pull_request", payload)).toEqual({ kind: "ignore", why: "not a Drover branch" });
  });

  it.each([true, false])("finishes the task when a Drover pull request closes (merged: %s)", (merged) => {
    const payload = pullRequestClosed({ number: 30, headRef: "drover/12-add-a-changelog", merged });
    expect(routeWebhook("pull_request", payload)).toEqual({ ...DISPATCH, jobs: ["close-task"], syncs: [] });
  });

  it.each(["created", "deleted", "suspend", "unsuspend", "new_permissions_accepted"])(
    "records installation.%s with its id and account",
    (action) => {
      const payload = githubExample("installation", action);
      const installation = payload.installation as { id: number; account: { login: string } };
      expect(routeWebhook("installation", payload)).toEqual({
        kind: "installation",
        event: {
          action,
          installation: {
            id: installation.id,
            account: { login: installation.account.login, type: expect.any(String) },
          },
        },
        added: action === "created" ? expect.any(Array) : [],
      });
    },
  );

  it("records issues.opened from its payload (links are not read), and starts nothing", () => {
    const payload = { ...issueLabeled({ number: 12, title: "t" }), action: "opened" };
    expect(routeWebhook("issues", payload)).toEqual({ ...DISPATCH, jobs: [], syncs: [PAYLOAD_12] });
  });

  it("stops the task when a person takes a label off (close-task checks it is the Drover label)", () => {
    const payload = { ...issueLabeled({ number: 12, title: "t" }), action: "unlabeled" };
    expect(routeWebhook("issues", payload)).toEqual({
      ...DISPATCH,
      jobs: ["close-task"],
      syncs: [PAYLOAD_12],
    });
  });

  it.each(["labeled", "unlabeled"])(
    "starts and stops nothing on issues.%s by another bot, and records its labels from the payload",
    (action) => {
      const payload = {
        ...issueLabeled({ number: 12, title: "t" }),
        action,
        sender: { login: "triage-bot[bot]", id: 98, type: "Bot" },
      };
      expect(routeWebhook("issues", payload, { botLogin: "drover[bot]" })).toEqual({
        ...DISPATCH,
        jobs: [],
        syncs: [PAYLOAD_12],
      });
    },
  );

  it.each(["labeled", "unlabeled"])(
    "drops issues.%s by Drover's own bot (the code that wrote the label synced the issue)",
    (action) => {
      const payload = { ...issueLabeled({ number: 12, title: "t", label: "priority: high" }), action };
      const own = { ...payload, sender: DROVER_BOT };
      expect(routeWebhook("issues", own, { botLogin: "Drover[bot]" })).toMatchObject({ kind: "ignore" });
      // Without its login known, Drover's bot is any bot: recorded from the payload, at no request.
      expect(routeWebhook("issues", own)).toMatchObject({ jobs: [], syncs: [PAYLOAD_12] });
    },
  );

  it("drops issues Drover opened or edited itself, but not a person's", () => {
    for (const action of ["opened", "edited"]) {
      const payload = { ...issueLabeled({ number: 12, title: "t" }), action };
      expect(
        routeWebhook("issues", { ...payload, sender: DROVER_BOT }, { botLogin: "drover[bot]" }),
      ).toMatchObject({ kind: "ignore" });
      expect(routeWebhook("issues", payload, { botLogin: "drover[bot]" })).toMatchObject({
        syncs: [PAYLOAD_12],
      });
    }
  });

  it("rejects GitHub's own issues.opened example, which has no installation (an org webhook's)", () => {
    expect(routeWebhook("issues", githubExample("issues", "opened"))).toMatchObject({
      kind: "invalid",
      why: expect.stringMatching(/^installation: /),
    });
  });

  it.each([
    ["issues", { ...issueLabeled({ number: 12, title: "t" }), action: "assigned" }],
    ["pull_request", githubExample("pull_request", "opened")],
    ["pull_request", githubExample("pull_request", "labeled")],
    ["push", pushed({ ref: "refs/tags/v1.0", after: "a".repeat(40) })],
    ["ping", { zen: "Design for failure." }],
    ["issues", null],
  ])("ignores %s events Drover does not act on", (name, payload) => {
    expect(routeWebhook(name, payload)).toMatchObject({ kind: "ignore", why: expect.stringContaining(name) });
  });

  it("rejects a labelled issue without an installation, naming the field", () => {
    const payload = issueLabeled({ number: 12, title: "t" });
    delete payload.installation;
    expect(routeWebhook("issues", payload)).toEqual({
      kind: "invalid",
      why: expect.stringMatching(/^installation: /),
    });
    // GitHub's own example is an org webhook, not an app's: it has no installation either.
    expect(routeWebhook("issues", githubExample("issues", "labeled"))).toMatchObject({ kind: "invalid" });
  });

  it.each(["octo-org", "octo-org/widgets/extra", "octo org/widgets", ""])(
    "rejects a repository full_name of %j, naming the path",
    (fullName) => {
      const payload = issueLabeled({ number: 12, title: "t" });
      (payload.repository as Json).full_name = fullName;
      expect(routeWebhook("issues", payload)).toEqual({
        kind: "invalid",
        why: expect.stringMatching(/^repository\.full_name: /),
      });
    },
  );

  it("rejects a closed Drover pull request without a head ref, naming the path", () => {
    const payload = pullRequestClosed({ number: 30, headRef: "drover/1-x", merged: true });
    (payload.pull_request as Json).head = {};
    expect(routeWebhook("pull_request", payload)).toEqual({
      kind: "invalid",
      why: expect.stringMatching(/^pull_request\.head\.ref: /),
    });
  });
});
