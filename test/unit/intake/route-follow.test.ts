import { describe, expect, it } from "vitest";
import { routeWebhook } from "../../../src/intake/route.ts";
import { OCTO_REPO, pullRequestSynchronized, pushed } from "../../helpers/payloads.ts";

const DROVER_BOT = { login: "drover[bot]", id: 99, type: "Bot" as const };
const SHA = "c".repeat(40);
const FOLLOW = {
  kind: "dispatch",
  installationId: OCTO_REPO.installationId,
  repoFullName: OCTO_REPO.fullName,
  jobs: ["follow-base"],
  syncs: [],
};

describe("routing what moves under Drover's pull requests", () => {
  it("follows a push to any branch, Drover's own merge included: it may be a pull request's base", () => {
    expect(routeWebhook("push", pushed({ ref: "refs/heads/main", after: SHA }))).toEqual(FOLLOW);
    expect(routeWebhook("push", pushed({ ref: "refs/heads/release/2.x", after: SHA }))).toEqual(FOLLOW);
    expect(
      routeWebhook("push", pushed({ ref: "refs/heads/main", after: SHA, by: DROVER_BOT }), {
        botLogin: DROVER_BOT.login,
      }),
    ).toEqual(FOLLOW);
    // Drover's own push to a task branch: pull requests stacked on it (drover.yml `stack: true`) follow it.
    const task = pushed({ ref: "refs/heads/drover/12-add-a-changelog", after: SHA, by: DROVER_BOT });
    expect(routeWebhook("push", task, { botLogin: DROVER_BOT.login })).toEqual(FOLLOW);
  });

  it.each([
    ["a tag", pushed({ ref: "refs/tags/v1.0", after: SHA })],
    ["a deleted branch", pushed({ ref: "refs/heads/old", after: "0".repeat(40) })],
  ])("ignores a push of %s", (_what, payload) => {
    expect(routeWebhook("push", payload)).toMatchObject({ kind: "ignore" });
  });

  it("follows someone else's push to a Drover pull request, not Drover's own nor another branch's", () => {
    const person = pullRequestSynchronized({ number: 31, headRef: "drover/12-add-a-changelog" });
    expect(routeWebhook("pull_request", person, { botLogin: DROVER_BOT.login })).toEqual(FOLLOW);
    const own = pullRequestSynchronized({ number: 31, headRef: "drover/12-add-a-changelog", by: DROVER_BOT });
    expect(routeWebhook("pull_request", own, { botLogin: DROVER_BOT.login })).toMatchObject({
      kind: "ignore",
      why: "Drover's own push",
    });
    const other = pullRequestSynchronized({ number: 32, headRef: "feature/x" });
    expect(routeWebhook("pull_request", other)).toMatchObject({ kind: "ignore" });
  });

  it("refuses a push whose after is not a commit, naming the field", () => {
    expect(routeWebhook("push", pushed({ ref: "refs/heads/main", after: "HEAD" }))).toMatchObject({
      kind: "invalid",
      why: expect.stringMatching(/^after: /),
    });
  });
});
