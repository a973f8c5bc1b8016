import { describe, expect, it } from "vitest";
import { routeWebhook } from "../../../src/intake/route.ts";
import { issueLabeled, OCTO_REPO } from "../../helpers/payloads.ts";

const linked = (repo: string, number: number) => ({
  id: number * 1000,
  number,
  repository_url: `https://api.github.com/repos/${repo}`,
});

/** Webhooks that change the task graph become sync-issue work for the right issue. */
describe("routeWebhook: graph events", () => {
  it("applies each native link once: blocked_by_* from the payload, blocking_* dropped within a repository", () => {
    const link = (action: string, repository: string) => ({
      action,
      blocked_issue: linked("octo-org/widgets", 7),
      blocking_issue: linked("octo-org/widgets", 3),
      repository: { id: 4242, full_name: repository },
      installation: { id: 77 },
    });
    for (const action of ["blocked_by_added", "blocked_by_removed"]) {
      expect(routeWebhook("issue_dependencies", link(action, "octo-org/widgets"))).toMatchObject({
        kind: "dispatch",
        jobs: [],
        syncs: [{ repoFullName: "octo-org/widgets", number: 7, links: true, fromDelivery: true }],
      });
    }
    for (const action of ["blocking_added", "blocking_removed"]) {
      expect(routeWebhook("issue_dependencies", link(action, "octo-org/widgets"))).toMatchObject({
        kind: "ignore",
      });
    }
  });

  it("applies a link across repositories from either side (each may be the only one Drover gets)", () => {
    const route = routeWebhook("issue_dependencies", {
      action: "blocking_added",
      blocked_issue: linked("octo-org/widgets", 7),
      blocking_issue: linked("octo-org/tools", 3),
      repository: { id: 4343, full_name: "octo-org/tools" },
      blocked_issue_repo: { id: 4242, full_name: "octo-org/widgets" },
      installation: { id: 77 },
    });
    expect(route).toMatchObject({
      kind: "dispatch",
      repoFullName: "octo-org/tools",
      syncs: [{ repoFullName: "octo-org/widgets", number: 7, links: true, fromDelivery: true }],
    });
  });

  it("applies a sub-issue link once, at the story: sub_issue_* kept, parent_issue_* dropped within a repository", () => {
    const link = (action: string) => ({
      action,
      parent_issue: linked("octo-org/widgets", 1),
      sub_issue: linked("octo-org/widgets", 2),
      repository: { id: 4242, full_name: "octo-org/widgets" },
      installation: { id: 77 },
    });
    expect(routeWebhook("sub_issues", link("sub_issue_added"))).toMatchObject({
      kind: "dispatch",
      syncs: [{ repoFullName: "octo-org/widgets", number: 1, links: true, fromDelivery: true }],
    });
    expect(routeWebhook("sub_issues", link("parent_issue_added"))).toMatchObject({ kind: "ignore" });
  });

  it("records an edited issue from its payload (its 'Blocked by' lines are in it)", () => {
    const payload = { ...issueLabeled({ number: 9, title: "x" }), action: "edited" };
    expect(routeWebhook("issues", payload)).toMatchObject({
      kind: "dispatch",
      jobs: [],
      syncs: [{ repoFullName: OCTO_REPO.fullName, number: 9, links: false, fromDelivery: true }],
    });
  });

  it("records a reopened or milestoned issue from its payload, and starts a labelled one", () => {
    for (const action of ["reopened", "milestoned"]) {
      const payload = { ...issueLabeled({ number: 9, title: "x" }), action };
      expect(routeWebhook("issues", payload)).toMatchObject({
        syncs: [{ number: 9, links: false, fromDelivery: true }],
        jobs: [],
      });
    }
    expect(routeWebhook("issues", issueLabeled({ number: 9, title: "x" }))).toMatchObject({
      jobs: ["start-task"],
      syncs: [],
    });
  });

  it("rejects an issue_dependencies payload without the blocked issue, saying which field", () => {
    const route = routeWebhook("issue_dependencies", {
      action: "blocked_by_added",
      blocking_issue: linked("octo-org/tools", 3),
      installation: { id: 77 },
    });
    expect(route).toMatchObject({ kind: "invalid" });
    expect(route.kind === "invalid" && route.why).toContain("blocked_issue");
  });
});
