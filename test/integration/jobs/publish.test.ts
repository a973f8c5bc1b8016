import { and, eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { publish } from "../../../jobs/publish.ts";
import { steps } from "../../../src/db/schema.ts";
import { useDrover } from "../../helpers/drover.ts";
import { agentConfig, mockLabelledRun, recorder, taskOf, REPO_PATH } from "../../helpers/github-flows.ts";
import { checkRunReply, pullReply, TEST_APP, TEST_BOT } from "../../helpers/github-replies.ts";
import { issueLabeled } from "../../helpers/payloads.ts";

const BRANCH = "drover/41-publish-me";

/**
 * publish run more than once for one attempt: BullMQ delivers at least once, so a job whose lock lapsed
 * runs again beside the original. The issue still gets one pull request and one check run.
 */
describe("publish", () => {
  const { db, harness, repo, github } = useDrover();

  it("makes one pull request and one check run when the same attempt is published twice at once", async () => {
    const sent = recorder();
    const issue = { number: 41, title: "Publish me", labels: ["drover"] };
    mockLabelledRun(github, sent, {
      issue,
      commentId: 8041,
      config: agentConfig("edit-and-pass.mjs"),
      installationId: repo().installationId,
      passes: { branch: BRANCH, pr: 42 },
    });
    await harness().receive("issues", issueLabeled({ repo: repo(), number: 41, title: "Publish me" }));
    await harness().drain();
    const { task, attempts } = await taskOf(db(), repo(), 41);
    expect(task).toMatchObject({ state: "review", prNumber: 42 });
    const attemptId = attempts[0]!.id;

    // As if the first publish had died before recording anything, and GitHub shows nothing yet: each run
    // that finds no step asks GitHub and, finding nothing, makes the pull request and the check run.
    await db()
      .delete(steps)
      .where(
        and(eq(steps.attemptId, attemptId), inArray(steps.name, ["pull-request", "check-run", "published"])),
      );
    const made = { pulls: 0, checks: 0 };
    const optional = github.optional();
    optional.get(`${REPO_PATH}/pulls`).query(true).reply(200, []);
    optional.post(`${REPO_PATH}/pulls`).reply(201, (_uri, body) => {
      made.pulls++;
      const { head, title } = body as { head: string; title: string };
      return pullReply({ number: 42 + made.pulls, head, title, by: TEST_BOT, repo: repo().fullName });
    });
    optional
      .get(new RegExp(`^${REPO_PATH}/commits/[0-9a-f]{40}/check-runs`))
      .query(true)
      .reply(200, { total_count: 0, check_runs: [] });
    optional.post(`${REPO_PATH}/check-runs`).reply(201, (_uri, body) => {
      made.checks++;
      const { name, head_sha: headSha } = body as { name: string; head_sha: string };
      return checkRunReply({ id: 40 + made.checks, name, headSha, app: TEST_APP, repo: repo().fullName });
    });

    await Promise.all([publish(harness().deps, { attemptId }), publish(harness().deps, { attemptId })]);
    await harness().drain();

    expect(made).toEqual({ pulls: 1, checks: 1 });
    const recorded = await db().select().from(steps).where(eq(steps.attemptId, attemptId));
    expect(recorded.map((s) => s.name)).toEqual(
      expect.arrayContaining(["pull-request", "check-run", "published"]),
    );
  });
});

/**
 * GitHub's answers to publish's writes, as the job wrapper takes them: a refusal (422) is final, tried
 * once, with a message a person can act on; a server error (502) is tried again.
 */
describe("publish when GitHub does not take a write", () => {
  const { db, harness, repo, github } = useDrover();

  /** A task run to review and published; then, as if publishing had not happened, its publish job queued again. */
  async function publishAgain(issue: number, reply: (post: number) => [number, object]) {
    const sent = recorder();
    const title = `Publish ${issue}`;
    mockLabelledRun(github, sent, {
      issue: { number: issue, title, labels: ["drover"] },
      commentId: 8000 + issue,
      config: agentConfig("edit-and-pass.mjs"),
      installationId: repo().installationId,
      passes: { branch: `drover/${issue}-publish-${issue}`, pr: issue + 1 },
    });
    await harness().receive("issues", issueLabeled({ repo: repo(), number: issue, title }));
    await harness().drain();
    const attemptId = (await taskOf(db(), repo(), issue)).attempts[0]!.id;
    await db()
      .delete(steps)
      .where(
        and(eq(steps.attemptId, attemptId), inArray(steps.name, ["pull-request", "check-run", "published"])),
      );
    const posts = { count: 0 };
    const optional = github.optional();
    optional.get(`${REPO_PATH}/pulls`).query(true).reply(200, []);
    optional.post(`${REPO_PATH}/pulls`).reply(() => reply(++posts.count));
    optional
      .get(new RegExp(`^${REPO_PATH}/commits/[0-9a-f]{40}/check-runs`))
      .query(true)
      .reply(200, { total_count: 0, check_runs: [] });
    optional.post(`${REPO_PATH}/check-runs`).reply(201, (_uri, body) => {
      const { name, head_sha: headSha } = body as { name: string; head_sha: string };
      return checkRunReply({ id: 77, name, headSha, app: TEST_APP });
    });
    const jobId = `publish-${attemptId}`;
    await harness().queue.remove("main", jobId);
    await harness().enqueue("publish", { attemptId });
    return { posts, jobId };
  }

  it("tries a pull request GitHub refuses (422) once, and fails the job for good saying why", async () => {
    const refusal = {
      message: "Validation Failed",
      errors: [
        { resource: "PullRequest", code: "custom", message: "No commits between main and the branch" },
      ],
      documentation_url: "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
    };
    const { posts, jobId } = await publishAgain(51, () => [422, refusal]);

    await expect.poll(() => harness().queue.failures(), { timeout: 10_000 }).toHaveLength(1);
    const [failure] = await harness().queue.failures();
    expect(failure?.reason).toBe(
      "GitHub refused to create the pull request in octo-org/widgets (422: Validation Failed: No commits between main and the branch): " +
        "GitHub found the request invalid; fix what its message names (a deleted branch, a pull request that already exists), then remove and add the label to try again",
    );
    expect(posts.count).toBe(1);
    await harness().queue.remove("main", jobId);
  });

  it("tries a pull request again after GitHub's 502s, until it is made", async () => {
    // Octokit itself sends a request four times (three retries) before the job sees the error: the fifth
    // post reaches GitHub only because the job ran again.
    const { posts } = await publishAgain(52, (post) =>
      post <= 4
        ? [502, { message: "Server Error" }]
        : [201, pullReply({ number: 99, head: "drover/52-publish-52", by: TEST_BOT })],
    );

    await harness().drain();

    expect(posts.count).toBe(5);
    expect((await taskOf(db(), repo(), 52)).task).toMatchObject({ state: "review", prNumber: 99 });
  });
});
