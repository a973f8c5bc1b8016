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
  it("syncs the blocked issue's links for both families of issue_dependencies actions", () => {
    for (const action of ["blocked_by_added", "blocked_by_removed", "blocking_added", "blocking_removed"]) {
      const route = routeWebhook("issue_dependencies", {
        action,
        blocked_issue: linked("octo-org/widgets", 7),
        blocking_issue: linked("octo-org/tools", 3),
        installation: { id: 77 },
      });
      expect(route).toMatchObject({
        kind: "dispatch",
        jobs: [],
        syncs: [{ repoFullName: "octo-org/widgets", number: 7, links: true }],
      });
    }
  });

  it("syncs the story (with links) and the sub-issue for sub_issues actions", () => {
    const route = routeWebhook("sub_issues", {
      action: "sub_issue_added",
      parent_issue: linked("octo-org/widgets", 1),
      sub_issue: linked("octo-org/widgets", 2),
      installation: { id: 77 },
    });
    expect(route).toMatchObject({
      kind: "dispatch",
      syncs: [
        { repoFullName: "octo-org/widgets", number: 1, links: true },
        { repoFullName: "octo-org/widgets", number: 2, links: false },
      ],
    });
  });

  it("reads an edited issue's text again (its 'Blocked by' lines may have changed)", () => {
    const payload = { ...issueLabeled({ number: 9, title: "x" }), action: "edited" };
    expect(routeWebhook("issues", payload)).toMatchObject({
      kind: "dispatch",
      jobs: [],
      syncs: [{ repoFullName: OCTO_REPO.fullName, number: 9, links: true }],
    });
  });

  it("reads a reopened or relabelled issue's state again, and starts a labelled one", () => {
    for (const action of ["reopened", "milestoned"]) {
      const payload = { ...issueLabeled({ number: 9, title: "x" }), action };
      expect(routeWebhook("issues", payload)).toMatchObject({
        syncs: [{ number: 9, links: false }],
        jobs: [],
      });
    }
    expect(routeWebhook("issues", issueLabeled({ number: 9, title: "x" }))).toMatchObject({
      jobs: ["start-task"],
      syncs: [{ number: 9, links: true }],
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
