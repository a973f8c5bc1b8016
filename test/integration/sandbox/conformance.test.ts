import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Person } from "../../../src/demo/maintainer.ts";
import { assertMatchesOperation, assertMatchesRequest, assertMatchesWebhook } from "../../helpers/openapi.ts";
import { cloneRepo, startTestSandbox, statusOf, type TestSandbox } from "../../helpers/sandbox.ts";

/**
 * The sandbox against GitHub's own descriptions: every operation it implements is called (as the person,
 * app or installation GitHub would let call it), and every answer, every request body we sent and every
 * webhook that followed must match @octokit/openapi and @octokit/openapi-webhooks.
 */

/**
 * Errors whose bodies are held to GitHub's generic error shapes (basic-error; validation-error for 422)
 * rather than the operation's own: errors GitHub sends that its REST description does not list for the
 * operation, and one it lists with a shape no plain error can match.
 */
const UNDOCUMENTED_ERRORS = new Set([
  // Listed as oneOf basic-error and repository-rule-violation-error, and a plain error is both.
  "PUT /repos/{owner}/{repo}/contents/{path} 409",
  // Needs triage; GitHub answers 403 (the description lists only 404/410/422).
  "POST /repos/{owner}/{repo}/issues/{issue_number}/labels 403",
  // Needs write; GitHub answers 403.
  "PUT /repos/{owner}/{repo}/contents/{path} 403",
  "DELETE /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions/{reaction_id} 403",
  "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id} 403",
  // The app endpoints want the app's JWT: anything else is 401.
  "GET /app 401",
  // Check runs: only a GitHub App may write them (403), and a run must exist (404) and be valid (422).
  "POST /repos/{owner}/{repo}/check-runs 403",
  "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id} 422",
  "GET /repos/{owner}/{repo}/check-runs/{check_run_id} 404",
  // Described without a body; GitHub answers a missing ref with one ("Reference does not exist"), and a
  // reader with 403.
  "DELETE /repos/{owner}/{repo}/git/refs/{ref} 422",
  "DELETE /repos/{owner}/{repo}/git/refs/{ref} 403",
  // A commit the repository does not have: 422 "No commit found for SHA".
  "POST /repos/{owner}/{repo}/check-runs 422",
  "GET /repos/{owner}/{repo}/commits/{ref}/check-runs 422",
]);

/** Where GitHub's description gives the generic error shape, for errors it does not list per operation. */
const GENERIC_ERROR: Record<number, { method: string; path: string }> = {
  401: { method: "GET", path: "/user" },
  403: { method: "GET", path: "/repos/{owner}/{repo}" },
  404: { method: "GET", path: "/repos/{owner}/{repo}" },
  409: { method: "PUT", path: "/repos/{owner}/{repo}/pulls/{pull_number}/merge" },
  422: { method: "POST", path: "/repos/{owner}/{repo}/issues" },
};

/** Every webhook (event.action) the scenario must cause. */
const EXPECTED_WEBHOOKS = [
  "issues.opened",
  "issues.edited",
  "issues.labeled",
  "issues.unlabeled",
  "issues.closed",
  "issues.reopened",
  "issue_comment.created",
  "issue_comment.edited",
  "issue_comment.deleted",
  "issue_dependencies.blocked_by_added",
  "issue_dependencies.blocking_added",
  "issue_dependencies.blocked_by_removed",
  "issue_dependencies.blocking_removed",
  "sub_issues.sub_issue_added",
  "sub_issues.parent_issue_added",
  "sub_issues.sub_issue_removed",
  "sub_issues.parent_issue_removed",
  "pull_request.opened",
  "pull_request.edited",
  "pull_request.synchronize",
  "pull_request.closed",
  "pull_request.reopened",
  "pull_request.auto_merge_enabled",
  "pull_request_review.submitted",
  "pull_request_review_comment.created",
  "push",
];

let t: TestSandbox;
let maintainer: Person;
let developer: Person;
let triager: Person;
let reader: Person;
let outsider: Person;
const ORG = "acme";
const repo = { owner: ORG, repo: "conformance" };

beforeAll(async () => {
  t = await startTestSandbox();
  [maintainer, developer, triager, reader, outsider] = [
    "maintainer",
    "developer",
    "triager",
    "reader",
    "outsider",
  ].map((login) => t.as(login)) as [Person, Person, Person, Person, Person];
});

afterAll(async () => {
  await t?.close();
});

describe("the sandbox against GitHub's descriptions", () => {
  it("serves repositories, files and users", async () => {
    await maintainer.rest.repos.createInOrg({
      org: ORG,
      name: repo.repo,
      description: "Conformance",
      auto_init: true,
    });
    expect(await statusOf(maintainer.rest.repos.createInOrg({ org: ORG, name: repo.repo }))).toBe(422);
    expect(await statusOf(developer.rest.repos.createInOrg({ org: ORG, name: "nope" }))).toBe(403);
    await developer.rest.repos.createForAuthenticatedUser({ name: "scratch" });
    expect((await t.call(t.sandbox.token("developer"), "POST", "/user/repos", {})).status).toBe(422);
    expect((await t.call(null, "POST", "/user/repos", { name: "anonymous" })).status).toBe(401);

    await maintainer.rest.repos.get(repo);
    expect(await statusOf(outsider.rest.repos.get(repo))).toBe(404);
    expect(await statusOf((await t.app()).rest.repos.get(repo))).toBe(403);

    const content = (text: string) => Buffer.from(text).toString("base64");
    const created = await maintainer.rest.repos.createOrUpdateFileContents({
      ...repo,
      path: "docs/guide.md",
      message: "Add the guide",
      content: content("# Guide\n"),
    });
    expect(created.status).toBe(201);
    const file = await maintainer.rest.repos.getContent({ ...repo, path: "docs/guide.md" });
    const raw = await maintainer.rest.repos.getContent({
      ...repo,
      path: "docs/guide.md",
      mediaType: { format: "raw" },
    });
    expect(String(raw.data)).toBe("# Guide\n");
    const sha = (file.data as { sha: string }).sha;
    const updated = await developer.rest.repos.createOrUpdateFileContents({
      ...repo,
      path: "docs/guide.md",
      message: "Extend the guide",
      content: content("# Guide\n\nMore.\n"),
      sha,
    });
    expect(updated.status).toBe(200);
    expect(
      await statusOf(
        developer.rest.repos.createOrUpdateFileContents({
          ...repo,
          path: "docs/guide.md",
          message: "Stale",
          content: content("stale\n"),
          sha,
        }),
      ),
    ).toBe(409);
    expect(
      await statusOf(
        developer.rest.repos.createOrUpdateFileContents({
          ...repo,
          path: "docs/guide.md",
          message: "Without the sha",
          content: content("unsure\n"),
        }),
      ),
    ).toBe(422);
    expect(
      await statusOf(
        reader.rest.repos.createOrUpdateFileContents({
          ...repo,
          path: "x.md",
          message: "x",
          content: content("x"),
        }),
      ),
    ).toBe(403);
    const missingContent = await t.call(
      t.sandbox.token("developer"),
      "PUT",
      `/repos/${ORG}/${repo.repo}/contents/y.md`,
      { message: "no content" },
    );
    expect(missingContent.status).toBe(422);
    expect(await statusOf(maintainer.rest.repos.getContent({ ...repo, path: "missing.md" }))).toBe(404);

    await maintainer.rest.repos.getCollaboratorPermissionLevel({ ...repo, username: "triager" });
    expect(
      await statusOf(maintainer.rest.repos.getCollaboratorPermissionLevel({ ...repo, username: "nobody" })),
    ).toBe(404);
    await reader.rest.users.getByUsername({ username: "maintainer" });
    expect(await statusOf(reader.rest.users.getByUsername({ username: "nobody" }))).toBe(404);
    await reader.rest.users.getAuthenticated();
    expect((await t.call(null, "GET", "/user")).status).toBe(401);
    const { client: installation } = await t.installation();
    expect(await statusOf(installation.rest.users.getAuthenticated())).toBe(403);
  });

  it("serves the app, its installation and installation tokens", async () => {
    const app = await t.app();
    const installation_id = t.sandbox.installationId;
    await app.rest.apps.getAuthenticated();
    expect(await statusOf(reader.rest.apps.getAuthenticated())).toBe(401);
    await app.rest.apps.listInstallations();
    await app.rest.apps.getInstallation({ installation_id });
    expect(await statusOf(app.rest.apps.getInstallation({ installation_id: 999_999 }))).toBe(404);
    expect(await statusOf(app.rest.apps.createInstallationAccessToken({ installation_id: 999_999 }))).toBe(
      404,
    );
    expect(await statusOf(reader.rest.apps.createInstallationAccessToken({ installation_id }))).toBe(401);
    await app.rest.apps.getRepoInstallation(repo);
    expect(await statusOf(app.rest.apps.getRepoInstallation({ owner: ORG, repo: "missing" }))).toBe(404);
    const { client: installation } = await t.installation();
    const { data } = await installation.rest.apps.listReposAccessibleToInstallation();
    expect(data.repositories.map((r) => r.name)).toContain(repo.repo);
    expect(await statusOf(reader.rest.apps.listReposAccessibleToInstallation())).toBe(403);
  });

  it("serves issues, labels, comments, reactions and events", async () => {
    const readers = await reader.rest.issues.create({ ...repo, title: "Reader's issue", body: "Hello" });
    const number = readers.data.number;
    const labelled = await maintainer.rest.issues.create({
      ...repo,
      title: "Labelled at birth",
      labels: ["bug"],
    });
    const developerToken = t.sandbox.token("developer");
    const issuesPath = `/repos/${ORG}/${repo.repo}/issues`;
    expect((await t.call(developerToken, "POST", issuesPath, { body: "no title" })).status).toBe(422);
    expect(await statusOf(outsider.rest.issues.create({ ...repo, title: "x" }))).toBe(404);

    await reader.rest.issues.listForRepo({ ...repo, labels: "bug", state: "all" });
    expect(await statusOf(outsider.rest.issues.listForRepo(repo))).toBe(404);
    await reader.rest.issues.get({ ...repo, issue_number: number });
    expect(await statusOf(reader.rest.issues.get({ ...repo, issue_number: 9999 }))).toBe(404);

    await maintainer.rest.issues.update({ ...repo, issue_number: number, title: "Reader's issue, edited" });
    expect(
      await statusOf(
        reader.rest.issues.update({ ...repo, issue_number: labelled.data.number, title: "mine now" }),
      ),
    ).toBe(403);
    await maintainer.rest.issues.update({
      ...repo,
      issue_number: number,
      state: "closed",
      state_reason: "not_planned",
    });
    await reader.rest.issues.update({ ...repo, issue_number: number, state: "open" });
    expect((await t.call(developerToken, "PATCH", `${issuesPath}/${number}`, { state: "shut" })).status).toBe(
      422,
    );

    await triager.rest.issues.addLabels({ ...repo, issue_number: number, labels: ["triaged"] });
    await triager.rest.issues.setLabels({ ...repo, issue_number: number, labels: ["bug", "ready"] });
    await triager.rest.issues.removeLabel({ ...repo, issue_number: number, name: "ready" });
    expect(
      await statusOf(triager.rest.issues.removeLabel({ ...repo, issue_number: number, name: "ready" })),
    ).toBe(404);
    await reader.rest.issues.listLabelsOnIssue({ ...repo, issue_number: number });
    expect(await statusOf(reader.rest.issues.listLabelsOnIssue({ ...repo, issue_number: 9999 }))).toBe(404);
    expect(
      await statusOf(triager.rest.issues.setLabels({ ...repo, issue_number: 9999, labels: ["bug"] })),
    ).toBe(404);
    expect(
      await statusOf(reader.rest.issues.addLabels({ ...repo, issue_number: number, labels: ["mine"] })),
    ).toBe(403);
    expect((await t.call(developerToken, "POST", `${issuesPath}/${number}/labels`, {})).status).toBe(422);

    await maintainer.rest.issues.createLabel({ ...repo, name: "drover", color: "5319e7", description: "Go" });
    expect(await statusOf(maintainer.rest.issues.createLabel({ ...repo, name: "drover" }))).toBe(422);
    await reader.rest.issues.listLabelsForRepo(repo);
    expect(await statusOf(outsider.rest.issues.listLabelsForRepo(repo))).toBe(404);

    const comment = await reader.rest.issues.createComment({ ...repo, issue_number: number, body: "Me too" });
    const comment_id = comment.data.id;
    expect(
      (await t.call(developerToken, "POST", `${issuesPath}/${number}/comments`, { text: "x" })).status,
    ).toBe(422);
    expect(
      await statusOf(outsider.rest.issues.createComment({ ...repo, issue_number: number, body: "x" })),
    ).toBe(404);
    await reader.rest.issues.listComments({ ...repo, issue_number: number });
    expect(await statusOf(reader.rest.issues.listComments({ ...repo, issue_number: 9999 }))).toBe(404);
    await reader.rest.issues.getComment({ ...repo, comment_id });
    expect(await statusOf(reader.rest.issues.getComment({ ...repo, comment_id: 1 }))).toBe(404);
    await reader.rest.issues.updateComment({ ...repo, comment_id, body: "Me too, edited" });
    expect(
      (await t.call(developerToken, "PATCH", `${issuesPath}/comments/${comment_id}`, { text: "x" })).status,
    ).toBe(422);
    expect(await statusOf(triager.rest.issues.updateComment({ ...repo, comment_id, body: "x" }))).toBe(403);

    const first = await reader.rest.reactions.createForIssue({
      ...repo,
      issue_number: number,
      content: "+1",
    });
    expect(first.status).toBe(201);
    const again = await reader.rest.reactions.createForIssue({
      ...repo,
      issue_number: number,
      content: "+1",
    });
    expect(again.status).toBe(200);
    expect(
      (await t.call(developerToken, "POST", `${issuesPath}/${number}/reactions`, { content: "party" }))
        .status,
    ).toBe(422);
    await reader.rest.reactions.listForIssue({ ...repo, issue_number: number, content: "+1" });
    expect(await statusOf(reader.rest.reactions.listForIssue({ ...repo, issue_number: 9999 }))).toBe(404);
    const heart = await developer.rest.reactions.createForIssueComment({
      ...repo,
      comment_id,
      content: "heart",
    });
    const laugh = await developer.rest.reactions.createForIssueComment({
      ...repo,
      comment_id,
      content: "laugh",
    });
    expect(
      await statusOf(
        reader.rest.reactions.deleteForIssueComment({ ...repo, comment_id, reaction_id: heart.data.id }),
      ),
    ).toBe(403);
    await developer.rest.reactions.deleteForIssueComment({ ...repo, comment_id, reaction_id: laugh.data.id });
    const commentReactions = `${issuesPath}/comments/${comment_id}/reactions`;
    expect((await t.call(developerToken, "POST", commentReactions, { content: "wow" })).status).toBe(422);
    await reader.rest.reactions.listForIssueComment({ ...repo, comment_id });
    expect(await statusOf(reader.rest.reactions.listForIssueComment({ ...repo, comment_id: 1 }))).toBe(404);
    await reader.rest.issues.deleteComment({ ...repo, comment_id });

    await reader.rest.issues.listEvents({ ...repo, issue_number: number });
  });

  it("serves dependencies and sub-issues", async () => {
    const make = async (title: string) =>
      (await maintainer.rest.issues.create({ ...repo, title: `Link: ${title}` })).data;
    const [parent, child, other, sibling, elsewhere] = await Promise.all(
      ["parent", "child", "other", "sibling", "elsewhere"].map(make),
    );
    if (!parent || !child || !other || !sibling || !elsewhere) throw new Error("issues not created");
    const at = (issue: { number: number }) => ({ ...repo, issue_number: issue.number });

    await triager.rest.issues.addBlockedByDependency({ ...at(parent), issue_id: child.id });
    expect(
      await statusOf(triager.rest.issues.addBlockedByDependency({ ...at(parent), issue_id: child.id })),
    ).toBe(422);
    expect(
      await statusOf(reader.rest.issues.addBlockedByDependency({ ...at(parent), issue_id: other.id })),
    ).toBe(403);
    expect(
      await statusOf(triager.rest.issues.addBlockedByDependency({ ...at(parent), issue_id: 999_999_999 })),
    ).toBe(404);
    await reader.rest.issues.listDependenciesBlockedBy(at(parent));
    await reader.rest.issues.listDependenciesBlocking(at(child));
    expect(
      await statusOf(reader.rest.issues.listDependenciesBlockedBy({ ...repo, issue_number: 9999 })),
    ).toBe(404);
    expect(await statusOf(outsider.rest.issues.listDependenciesBlocking(at(child)))).toBe(404);
    await triager.rest.issues.removeDependencyBlockedBy({ ...at(parent), issue_id: child.id });
    expect(
      await statusOf(triager.rest.issues.removeDependencyBlockedBy({ ...at(parent), issue_id: child.id })),
    ).toBe(404);
    expect(
      await statusOf(reader.rest.issues.removeDependencyBlockedBy({ ...at(parent), issue_id: child.id })),
    ).toBe(403);

    await triager.rest.issues.addSubIssue({ ...at(parent), sub_issue_id: child.id });
    await triager.rest.issues.addSubIssue({ ...at(parent), sub_issue_id: sibling.id });
    expect(await statusOf(triager.rest.issues.addSubIssue({ ...at(other), sub_issue_id: sibling.id }))).toBe(
      422,
    );
    await triager.rest.issues.addSubIssue({ ...at(other), sub_issue_id: sibling.id, replace_parent: true });
    await triager.rest.issues.addSubIssue({ ...at(parent), sub_issue_id: sibling.id, replace_parent: true });
    expect(await statusOf(reader.rest.issues.addSubIssue({ ...at(other), sub_issue_id: elsewhere.id }))).toBe(
      403,
    );
    expect(await statusOf(triager.rest.issues.addSubIssue({ ...at(other), sub_issue_id: 999_999_999 }))).toBe(
      404,
    );
    await reader.rest.issues.listSubIssues(at(parent));
    expect(await statusOf(reader.rest.issues.listSubIssues({ ...repo, issue_number: 9999 }))).toBe(404);
    await reader.rest.issues.getParent(at(child));
    expect(await statusOf(reader.rest.issues.getParent(at(parent)))).toBe(404);
    await triager.rest.issues.reprioritizeSubIssue({
      ...at(parent),
      sub_issue_id: sibling.id,
      before_id: child.id,
    });
    expect(
      await statusOf(
        triager.rest.issues.reprioritizeSubIssue({
          ...at(parent),
          sub_issue_id: sibling.id,
          after_id: other.id,
        }),
      ),
    ).toBe(422);
    expect(
      await statusOf(
        reader.rest.issues.reprioritizeSubIssue({
          ...at(parent),
          sub_issue_id: sibling.id,
          after_id: child.id,
        }),
      ),
    ).toBe(403);
    expect(
      await statusOf(
        triager.rest.issues.reprioritizeSubIssue({
          ...at(parent),
          sub_issue_id: other.id,
          after_id: child.id,
        }),
      ),
    ).toBe(404);
    await triager.rest.issues.removeSubIssue({ ...at(parent), sub_issue_id: child.id });
    expect(
      await statusOf(triager.rest.issues.removeSubIssue({ ...at(parent), sub_issue_id: child.id })),
    ).toBe(404);
    expect(
      await statusOf(reader.rest.issues.removeSubIssue({ ...at(parent), sub_issue_id: sibling.id })),
    ).toBe(403);
  });

  it("serves pull requests, reviews and merges", async () => {
    const target = await maintainer.rest.issues.create({ ...repo, title: "Add the feature" });
    const clone = await cloneRepo(t.sandbox, repo, t.sandbox.token("developer"));
    try {
      await clone.git("checkout", "--quiet", "-b", "feature");
      await clone.commit({ "src/feature.ts": "export const feature = 1;\n" }, "Add the feature");
      await clone.git("push", "--quiet", "origin", "feature");
      await clone.git("checkout", "--quiet", "-b", "other", "main");
      await clone.commit({ "src/other.ts": "export const other = 1;\n" }, "Add another");
      await clone.git("push", "--quiet", "origin", "other");

      const opened = await developer.rest.pulls.create({
        ...repo,
        title: "Add the feature",
        head: "feature",
        base: "main",
        body: `Closes #${target.data.number}`,
      });
      const pull_number = opened.data.number;
      expect(
        await statusOf(
          developer.rest.pulls.create({ ...repo, title: "Again", head: "feature", base: "main" }),
        ),
      ).toBe(422);
      expect(
        await statusOf(developer.rest.pulls.create({ ...repo, title: "No", head: "missing", base: "main" })),
      ).toBe(422);
      expect(
        await statusOf(reader.rest.pulls.create({ ...repo, title: "No", head: "other", base: "main" })),
      ).toBe(403);
      const second = await developer.rest.pulls.create({
        ...repo,
        title: "Other",
        head: "other",
        base: "main",
      });

      await reader.rest.pulls.list({ ...repo, state: "all" });
      await reader.rest.pulls.get({ ...repo, pull_number });
      expect(await statusOf(reader.rest.pulls.get({ ...repo, pull_number: 9999 }))).toBe(404);
      await developer.rest.pulls.update({ ...repo, pull_number, title: "Add the feature, carefully" });
      expect(await statusOf(reader.rest.pulls.update({ ...repo, pull_number, title: "mine" }))).toBe(403);
      const pullPath = `/repos/${ORG}/${repo.repo}/pulls/${pull_number}`;
      expect(
        (await t.call(t.sandbox.token("developer"), "PATCH", pullPath, { state: "merged" })).status,
      ).toBe(422);
      await developer.rest.pulls.update({ ...repo, pull_number: second.data.number, state: "closed" });
      await developer.rest.pulls.update({ ...repo, pull_number: second.data.number, state: "open" });

      await clone.git("checkout", "--quiet", "feature");
      const head = await clone.commit({ "src/feature.ts": "export const feature = 2;\n" }, "Tune it");
      const from = (await t.deliveries()).length;
      await clone.git("push", "--quiet", "origin", "feature");
      await t.delivery((d) => d.action === "synchronize", from);

      await maintainer.rest.pulls.createReview({ ...repo, pull_number, event: "APPROVE" });
      expect(
        await statusOf(developer.rest.pulls.createReview({ ...repo, pull_number, event: "APPROVE" })),
      ).toBe(422);
      await reader.rest.pulls.listReviews({ ...repo, pull_number });

      expect(await statusOf(maintainer.rest.pulls.merge({ ...repo, pull_number, sha: "0".repeat(40) }))).toBe(
        409,
      );
      expect(
        await statusOf(maintainer.rest.pulls.merge({ ...repo, pull_number, merge_method: "rebase" })),
      ).toBe(422);
      expect(await statusOf(reader.rest.pulls.merge({ ...repo, pull_number }))).toBe(403);
      await maintainer.rest.pulls.merge({ ...repo, pull_number, sha: head, merge_method: "merge" });
      expect(await statusOf(maintainer.rest.pulls.merge({ ...repo, pull_number }))).toBe(405);

      // The merge moved main: the other pull request is retargeted there and back, then updated from it.
      const other = { ...repo, pull_number: second.data.number };
      expect(await statusOf(developer.rest.pulls.update({ ...other, base: "missing" }))).toBe(422);
      await developer.rest.pulls.update({ ...other, base: "feature" });
      await developer.rest.pulls.update({ ...other, base: "main" });
      expect(
        await statusOf(developer.rest.pulls.updateBranch({ ...other, expected_head_sha: "0".repeat(40) })),
      ).toBe(422);
      expect(await statusOf(reader.rest.pulls.updateBranch(other))).toBe(403);
      const update = await developer.rest.pulls.updateBranch({
        ...other,
        expected_head_sha: second.data.head.sha,
      });
      expect(update.status).toBe(202);
      expect(await statusOf(developer.rest.pulls.updateBranch(other))).toBe(422);
      const { data: updated } = await reader.rest.pulls.get(other);
      expect(updated).toMatchObject({ mergeable: true, commits: 2 });

      expect(await statusOf(reader.rest.git.deleteRef({ ...repo, ref: "heads/feature" }))).toBe(403);
      await developer.rest.git.deleteRef({ ...repo, ref: "heads/feature" });
      expect(await statusOf(developer.rest.git.deleteRef({ ...repo, ref: "heads/feature" }))).toBe(422);
    } finally {
      await clone.remove();
    }
  });

  it("serves review comments, replies, their reactions, and the auto-merge setting", async () => {
    const clone = await cloneRepo(t.sandbox, repo, t.sandbox.token("developer"));
    let head: string;
    try {
      await clone.git("checkout", "--quiet", "-b", "reviewed");
      head = await clone.commit(
        { "src/reviewed.ts": "export const a = 1;\nexport const b = 2;\n" },
        "Add a and b",
      );
      await clone.git("push", "--quiet", "origin", "reviewed");
    } finally {
      await clone.remove();
    }
    const { data: pull } = await developer.rest.pulls.create({
      ...repo,
      title: "Reviewed",
      head: "reviewed",
      base: "main",
    });
    const pull_number = pull.number;
    const { data: review } = await maintainer.rest.pulls.createReview({
      ...repo,
      pull_number,
      event: "REQUEST_CHANGES",
      body: "Rename b",
      comments: [{ path: "src/reviewed.ts", line: 2, side: "RIGHT", body: "b is vague" }],
    });
    const reviewsPath = `/repos/${ORG}/${repo.repo}/pulls/${pull_number}/reviews`;
    const maintainerToken = t.sandbox.token("maintainer");
    expect(
      (
        await t.call(maintainerToken, "POST", reviewsPath, {
          event: "COMMENT",
          body: "x",
          comments: [{ path: "src/reviewed.ts", position: 1, body: "x" }],
        })
      ).status,
    ).toBe(422);
    await reader.rest.pulls.getReview({ ...repo, pull_number, review_id: review.id });
    expect(await statusOf(reader.rest.pulls.getReview({ ...repo, pull_number, review_id: 1 }))).toBe(404);
    const { data: inReview } = await reader.rest.pulls.listCommentsForReview({
      ...repo,
      pull_number,
      review_id: review.id,
    });
    expect(
      await statusOf(reader.rest.pulls.listCommentsForReview({ ...repo, pull_number, review_id: 1 })),
    ).toBe(404);
    const comment_id = inReview[0]?.id ?? 0;
    const lone = await reader.rest.pulls.createReviewComment({
      ...repo,
      pull_number,
      commit_id: head,
      path: "src/reviewed.ts",
      line: 1,
      body: "And a?",
    });
    expect(
      await statusOf(
        reader.rest.pulls.createReviewComment({
          ...repo,
          pull_number,
          commit_id: head,
          path: "src/reviewed.ts",
          line: 9,
          body: "Outside the diff",
        }),
      ),
    ).toBe(422);
    await developer.rest.pulls.createReviewComment({
      ...repo,
      pull_number,
      in_reply_to: lone.data.id,
      body: "a is fine",
      // GitHub's description requires these even with in_reply_to (GitHub ignores them then).
      commit_id: head,
      path: "src/reviewed.ts",
    });
    await developer.rest.pulls.createReplyForReviewComment({
      ...repo,
      pull_number,
      comment_id,
      body: "Renamed",
    });
    expect(
      await statusOf(
        developer.rest.pulls.createReplyForReviewComment({ ...repo, pull_number, comment_id: 1, body: "x" }),
      ),
    ).toBe(404);
    await reader.rest.pulls.listReviewComments({ ...repo, pull_number });
    await reader.rest.pulls.getReviewComment({ ...repo, comment_id });
    expect(await statusOf(reader.rest.pulls.getReviewComment({ ...repo, comment_id: 1 }))).toBe(404);

    const { client: installation } = await t.installation();
    const eyes = await installation.rest.reactions.createForPullRequestReviewComment({
      ...repo,
      comment_id,
      content: "eyes",
    });
    await installation.rest.reactions.createForPullRequestReviewComment({
      ...repo,
      comment_id,
      content: "eyes",
    });
    const reactionsPath = `/repos/${ORG}/${repo.repo}/pulls/comments/${comment_id}/reactions`;
    expect((await t.call(maintainerToken, "POST", reactionsPath, { content: "party" })).status).toBe(422);
    await reader.rest.reactions.listForPullRequestReviewComment({ ...repo, comment_id });
    expect(
      await statusOf(reader.rest.reactions.listForPullRequestReviewComment({ ...repo, comment_id: 1 })),
    ).toBe(404);
    await installation.rest.reactions.deleteForPullRequestComment({
      ...repo,
      comment_id,
      reaction_id: eyes.data.id,
    });

    await maintainer.rest.repos.update({ ...repo, allow_auto_merge: false });
    await maintainer.rest.repos.update({ ...repo, allow_auto_merge: true });
    expect(await statusOf(developer.rest.repos.update({ ...repo, allow_auto_merge: false }))).toBe(403);
    expect(await statusOf(maintainer.rest.repos.update({ ...repo, has_wiki: true }))).toBe(422);

    const { data: run } = await installation.rest.checks.create({
      ...repo,
      head_sha: head,
      name: "Drover",
      status: "in_progress",
    });
    await maintainer.rest.pulls.createReview({ ...repo, pull_number, event: "APPROVE" });
    await installation.graphql(
      `mutation($id: ID!) { enablePullRequestAutoMerge(input: {pullRequestId: $id, mergeMethod: MERGE}) {
        pullRequest { number autoMergeRequest { enabledAt mergeMethod } } } }`,
      { id: pull.node_id },
    );
    await reader.rest.pulls.get({ ...repo, pull_number });
    await installation.rest.checks.update({ ...repo, check_run_id: run.id, conclusion: "success" });
    const { data: merged } = await reader.rest.pulls.get({ ...repo, pull_number });
    expect(merged.merged).toBe(true);
  });

  it("serves check runs to the app's installation", async () => {
    const { client: installation } = await t.installation();
    const { data: closed } = await maintainer.rest.pulls.list({ ...repo, state: "closed" });
    const head_sha = closed.find((pull) => pull.merged_at)?.merge_commit_sha ?? "";
    const run = await installation.rest.checks.create({
      ...repo,
      head_sha,
      name: "Drover",
      status: "in_progress",
      details_url: "http://127.0.0.1/tasks/1",
      external_id: "task-1",
    });
    await installation.rest.checks.update({
      ...repo,
      check_run_id: run.data.id,
      conclusion: "success",
      output: { title: "Done", summary: "All good", text: "Details" },
    });
    await maintainer.rest.checks.get({ ...repo, check_run_id: run.data.id });
    await maintainer.rest.checks.listForRef({ ...repo, ref: head_sha });
    await maintainer.rest.checks.listForRef({ ...repo, ref: "main", check_name: "Drover" });
    expect(await statusOf(maintainer.rest.checks.listForRef({ ...repo, ref: "f".repeat(40) }))).toBe(422);
    expect(
      await statusOf(installation.rest.checks.create({ ...repo, head_sha: "f".repeat(40), name: "Nowhere" })),
    ).toBe(422);
    expect(await statusOf(maintainer.rest.checks.create({ ...repo, head_sha, name: "Mine" }))).toBe(403);
    expect(await statusOf(maintainer.rest.checks.get({ ...repo, check_run_id: 1 }))).toBe(404);
    const { token } = await t.installation();
    const bad = await t.call(token, "PATCH", `/repos/${ORG}/${repo.repo}/check-runs/${run.data.id}`, {
      conclusion: "great",
    });
    expect(bad.status).toBe(422);
  });

  it("signs people in through the app's OAuth client, and lists what they can read through it", async () => {
    const installation_id = t.sandbox.installationId;
    await t.newRepo("conformance-second", { autoInit: false });
    const { client: signedIn, code } = await t.signIn("reader");
    expect((await signedIn.rest.users.getAuthenticated()).data.login).toBe("reader");
    const { data } = await signedIn.rest.apps.listInstallationsForAuthenticatedUser();
    expect(data.installations.map((i) => i.id)).toEqual([installation_id]);
    const first = await signedIn.rest.apps.listInstallationReposForAuthenticatedUser({
      installation_id,
      per_page: 1,
    });
    expect(first.data.repositories).toHaveLength(1);
    expect(first.headers.link).toContain('rel="next"');
    const all = await signedIn.paginate(signedIn.rest.apps.listInstallationReposForAuthenticatedUser, {
      installation_id,
    });
    expect(all.length).toBe(first.data.total_count);

    // Outsiders see what they were given, and nothing else.
    const { client: outsiderSignedIn } = await t.signIn("outsider");
    const none = await outsiderSignedIn.rest.apps.listInstallationsForAuthenticatedUser();
    expect(none.data.installations).toEqual([]);
    expect(
      await statusOf(
        outsiderSignedIn.rest.apps.listInstallationReposForAuthenticatedUser({ installation_id }),
      ),
    ).toBe(404);
    const given = t.sandbox.world.repo(ORG, repo.repo)!;
    t.sandbox.world.addCollaborator(given, t.sandbox.world.account("outsider")!, "read");
    const theirs = await outsiderSignedIn.paginate(
      outsiderSignedIn.rest.apps.listInstallationReposForAuthenticatedUser,
      { installation_id },
    );
    expect(theirs.map((r) => r.full_name)).toEqual([`${ORG}/${repo.repo}`]);
    given.collaborators.clear();

    // Only a token the app's client was given lists installations; a code is exchanged once.
    expect(await statusOf(reader.rest.apps.listInstallationsForAuthenticatedUser())).toBe(403);
    expect((await t.call(null, "GET", "/user/installations")).status).toBe(401);
    const { oauth } = t.sandbox.describe() as { oauth: Record<string, string> };
    const again = await fetch(`${oauth.webUrl}/login/oauth/access_token`, {
      method: "POST",
      headers: { accept: "application/json", "content-type": "application/json" },
      body: JSON.stringify({ client_id: oauth.clientId, client_secret: oauth.clientSecret, code }),
    });
    expect(await again.json()).toMatchObject({ error: "bad_verification_code" });
  });

  describe("everything it said", () => {
    it("calls every operation it implements, with success", () => {
      const succeeded = new Set(
        t.responses.filter((r) => r.status < 300).map((r) => `${r.method} ${r.path}`),
      );
      const missing = t.sandbox.operations
        .map((op) => `${op.method} ${op.path}`)
        .filter((op) => !succeeded.has(op));
      expect(missing).toEqual([]);
    });

    it("answers as GitHub's REST description says, errors included", () => {
      const problems: string[] = [];
      const undocumentedSeen = new Set<string>();
      for (const record of t.responses) {
        if (record.path === "(no route)") {
          problems.push(`${record.method}: no route answered`);
          continue;
        }
        // A raw file (Accept: application/vnd.github.raw) is not JSON and has no schema.
        if (record.path === "/repos/{owner}/{repo}/contents/{path}" && record.body === undefined) continue;
        const key = `${record.method} ${record.path} ${record.status}`;
        const generic = GENERIC_ERROR[record.status];
        try {
          if (UNDOCUMENTED_ERRORS.has(key) && generic) {
            undocumentedSeen.add(key);
            assertMatchesOperation({ ...generic, status: record.status, body: record.body });
          } else assertMatchesOperation(record);
        } catch (error) {
          problems.push((error as Error).message);
        }
      }
      expect([...new Set(problems)]).toEqual([]);
      expect([...UNDOCUMENTED_ERRORS].filter((key) => !undocumentedSeen.has(key))).toEqual([]);
    });

    it("was sent only request bodies GitHub accepts", () => {
      const problems: string[] = [];
      for (const request of t.requests) {
        try {
          assertMatchesRequest(request);
        } catch (error) {
          problems.push((error as Error).message);
        }
      }
      expect(t.requests.length).toBeGreaterThan(100);
      expect([...new Set(problems)]).toEqual([]);
    });

    it("sends signed webhooks GitHub's webhook description accepts", async () => {
      const received = await t.deliveries();
      const problems: string[] = [];
      for (const delivery of received) {
        if (!delivery.verified) problems.push(`${delivery.event} ${delivery.id}: signature does not verify`);
        try {
          assertMatchesWebhook(delivery.event, delivery.payload);
        } catch (error) {
          problems.push((error as Error).message);
        }
      }
      expect([...new Set(problems)]).toEqual([]);
      const seen = new Set(received.map((d) => (d.action ? `${d.event}.${d.action}` : d.event)));
      expect(EXPECTED_WEBHOOKS.filter((name) => !seen.has(name))).toEqual([]);

      // A push from each source: git over HTTP, the contents API, a merge and a branch update.
      const pushes = received.filter((d) => d.event === "push").map((d) => d.payload);
      const headMessage = (payload: Record<string, unknown>) =>
        (payload.head_commit as { message?: string } | null)?.message ?? "";
      expect(pushes.some((p) => p.ref === "refs/heads/feature" && p.created === true)).toBe(true);
      expect(pushes.some((p) => headMessage(p) === "Add the guide")).toBe(true);
      expect(pushes.some((p) => headMessage(p).startsWith("Merge pull request #"))).toBe(true);
      expect(pushes.some((p) => headMessage(p) === "Merge branch 'main' into other")).toBe(true);
      const retargeted = received.filter(
        (d) => d.action === "edited" && (d.payload.changes as { base?: unknown }).base !== undefined,
      );
      expect(retargeted.length).toBe(2);
      const reasons = received
        .filter((d) => d.event === "issues" && d.action === "closed")
        .map((d) => (d.payload.issue as { state_reason: string }).state_reason);
      expect(new Set(reasons)).toEqual(new Set(["not_planned", "completed"]));
      expect(received.length).toBe(t.sandbox.deliveries.length);
    });
  });
});
