import { writeFile } from "node:fs/promises";
import path from "node:path";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { publish } from "../../../jobs/publish.ts";
import { steps } from "../../../src/db/schema.ts";
import { git } from "../../helpers/git-sandbox.ts";
import { useDrover } from "../../helpers/drover.ts";
import {
  mockDiscussion,
  mockIssue,
  mockLabelledRun,
  mockPermission,
  recorder,
  taskOf,
  REPO_PATH,
  type Published,
} from "../../helpers/github-flows.ts";
import { checkRunReply, commentReply, pullReply, TEST_APP, TEST_BOT } from "../../helpers/github-replies.ts";
import { issueLabeled, MAINTAINER, type TestUser } from "../../helpers/payloads.ts";
import { mockReviewComments, reviewSubmitted, reviewUrl } from "../../helpers/review-flows.ts";

const REVIEWER: TestUser = { login: "reviewer", id: 303 };
const ISSUE = { number: 81, title: "Rework me", labels: ["drover"] };
const BRANCH = "drover/81-rework-me";
const PR = 82;

/**
 * A review round trip as GitHub sees it: a task's pull request gets "changes requested" by a writer; the
 * rework attempt's commits land on the same branch, and publish updates the same pull request (no second
 * one), puts a check run on the new head, refreshes the status comment and answers the review once.
 */
describe("publish a rework", () => {
  const { db, harness, repo, github, sandbox } = useDrover();

  /**
   * An agent that keeps the prompt it was given (PROMPT.md) and counts its rounds (ROUNDS.md): each
   * attempt changes something, whether it starts from the base branch or from the pull request's head.
   * `failOnGuidance`: it reports failure when the prompt carries people's guidance (a rework).
   */
  async function agentConfigFor(options: { failOnGuidance?: boolean } = {}): Promise<string> {
    const script = path.join(
      sandbox().root,
      options.failOnGuidance ? "fail-on-guidance.mjs" : "keep-prompt.mjs",
    );
    await writeFile(
      script,
      [
        'import { appendFileSync, readFileSync, writeFileSync } from "node:fs";',
        'import process from "node:process";',
        'const prompt = readFileSync(process.argv[2], "utf8");',
        'writeFileSync("PROMPT.md", prompt);',
        'appendFileSync("ROUNDS.md", "round\\n");',
        'const rounds = readFileSync("ROUNDS.md", "utf8").split("\\n").filter(Boolean).length;',
        options.failOnGuidance
          ? 'const verdict = prompt.includes("## Guidance from people") ? { status: "fail", summary: "Could not do what the review asks" } : { status: "pass", summary: `Round ${rounds}` };'
          : 'const verdict = { status: "pass", summary: `Round ${rounds}: kept the prompt` };',
        'process.stdout.write("```drover-verdict\\n" + JSON.stringify(verdict) + "\\n```\\n");',
      ].join("\n"),
    );
    return [
      "agent: command",
      `agent_command: ${JSON.stringify([process.execPath, script, "{prompt_file}"])}`,
      "task_timeout: 60s",
      "max_attempts: 1",
    ].join("\n");
  }

  it("puts the rework on the same pull request, with a check run on the new head, and answers the review once", async () => {
    const sent: Published = recorder();
    mockLabelledRun(github, sent, {
      issue: ISSUE,
      commentId: 8081,
      config: await agentConfigFor(),
      installationId: repo().installationId,
      passes: { branch: BRANCH, pr: PR },
    });
    await harness().receive("issues", issueLabeled({ repo: repo(), number: 81, title: ISSUE.title }));
    await harness().drain();
    const first = await taskOf(db(), repo(), 81);
    expect(first.task).toMatchObject({ state: "review", prNumber: PR });
    const firstHead = first.attempts[0]!.headSha!;

    // The review, and GitHub for the rework: the reviewer's access, the inline comments, the run (issue,
    // discussion), then publish: the open pull request found and updated, the check run, the answer.
    const api = github.api();
    mockPermission(api, REVIEWER.login, "write");
    mockReviewComments(api, {
      pr: PR,
      reviewId: 601,
      comments: [
        {
          id: 7601,
          body: "Name this file in capitals.",
          path: "CHANGED.md",
          line: 1,
          diffHunk: "@@ -0,0 +1 @@\n+the agent was here",
          by: REVIEWER,
        },
      ],
    });
    mockIssue(api, ISSUE);
    // The issue's discussion: a writer's comment, and a command, which is for Drover, not the agent.
    api
      .get(`${REPO_PATH}/issues/81/comments`)
      .query(true)
      .reply(200, [
        commentReply({ id: 9101, issue: 81, by: MAINTAINER, body: "Keep the file short." }),
        commentReply({ id: 9102, issue: 81, by: MAINTAINER, body: "/drover priority high" }),
      ]);
    mockPermission(api, MAINTAINER.login, "write");
    api
      .get(`${REPO_PATH}/pulls`)
      .query({ head: `octo-org:${BRANCH}`, state: "open", per_page: 1 })
      .reply(200, [pullReply({ number: PR, head: BRANCH, title: ISSUE.title, by: TEST_BOT })]);
    const updated: { body?: string } = {};
    api.patch(`${REPO_PATH}/pulls/${PR}`).reply(200, (_uri, body) => {
      updated.body = (body as { body: string }).body;
      return pullReply({ number: PR, head: BRANCH, title: ISSUE.title, body: updated.body, by: TEST_BOT });
    });
    api
      .get(new RegExp(`^${REPO_PATH}/commits/[0-9a-f]{40}/check-runs`))
      .query(true)
      .reply(200, { total_count: 0, check_runs: [] });
    const checks: string[] = [];
    api.post(`${REPO_PATH}/check-runs`).reply(201, (_uri, body) => {
      const { name, head_sha: headSha } = body as { name: string; head_sha: string };
      checks.push(headSha);
      return checkRunReply({ id: 32, name, headSha, app: TEST_APP });
    });
    const answers: string[] = [];
    api.post(`${REPO_PATH}/issues/${PR}/comments`).reply(201, (_uri, body) => {
      answers.push((body as { body: string }).body);
      return commentReply({ id: 8201, issue: PR, by: TEST_BOT, body: (body as { body: string }).body });
    });

    await harness().receive(
      "pull_request_review",
      reviewSubmitted({
        id: 601,
        state: "changes_requested",
        body: "Almost: see the comment.",
        by: REVIEWER,
        pr: PR,
        headRef: BRANCH,
        headSha: firstHead,
      }),
    );
    await harness().drain();

    const { task, attempts } = await taskOf(db(), repo(), 81);
    expect(task).toMatchObject({ state: "review", prNumber: PR, reworkCount: 1, modifiedBy: REVIEWER.login });
    const rework = attempts.find((a) => a.number === 2)!;
    expect(rework.start).toMatchObject({ from: "branch", cause: "rework", reviewId: 601, prNumber: PR });
    expect(rework.headSha).not.toBe(firstHead);
    // The check run is on the new head; the same pull request was updated, with the people in its body.
    expect(checks).toEqual([rework.headSha]);
    expect(updated.body).toContain("| Created by | @hubber |");
    expect(updated.body).toContain("| Last steered by | @reviewer |");
    expect(updated.body).toContain("| Co-authors | @hubber, @reviewer |");
    // The review is answered once, with what changed.
    expect(answers).toHaveLength(1);
    expect(answers[0]).toContain(
      `@reviewer: Drover reworked this pull request for your [review](${reviewUrl(PR, 601)})`,
    );
    expect(answers[0]).toContain(`${rework.baseSha!.slice(0, 7)}..${rework.headSha!.slice(0, 7)}`);
    expect(answers[0]).toContain("kept the prompt");
    // The status comment shows who steered it and what they said.
    const status = sent.comments.filter((c) => c.id === 8081).at(-1)?.body ?? "";
    expect(status).toContain("| Last steered by | @reviewer |");
    expect(status).toContain("- @reviewer (review comment): Name this file in capitals.");

    // The commit credits the issue's author and the reviewer; the agent was told what the review said.
    const origin = sandbox().origin;
    const message = await git(origin, "log", "-1", "--format=%B", rework.headSha!);
    expect(message).toContain("Co-authored-by: hubber <202+hubber@users.noreply.github.com>");
    expect(message).toContain("Co-authored-by: reviewer <303+reviewer@users.noreply.github.com>");
    expect(message.match(/Co-authored-by: hubber/g)).toHaveLength(1);
    const prompt = await git(origin, "show", `${rework.headSha!}:PROMPT.md`);
    expect(prompt).toContain("## Guidance from people");
    expect(prompt).toContain("Review comment from @reviewer on `CHANGED.md` line 1");
    expect(prompt).toContain("```diff\n@@ -0,0 +1 @@\n+the agent was here\n```");
    expect(prompt).toContain("Almost: see the comment.");
    expect(prompt).toContain("Keep the file short.");
    expect(prompt).not.toContain("/drover priority");

    // Published again (the job delivered twice): nothing is made or said a second time.
    await db()
      .delete(steps)
      .where(and(eq(steps.attemptId, rework.id), eq(steps.name, "published")));
    await publish(harness().deps, { attemptId: rework.id });
    expect(answers).toHaveLength(1);
  });

  it("answers the review saying the rework failed, and why, when the rework attempt fails", async () => {
    const sent: Published = recorder();
    const issue = { number: 83, title: "Rework fails", labels: ["drover"] };
    const branch = "drover/83-rework-fails";
    mockLabelledRun(github, sent, {
      issue,
      commentId: 8083,
      config: await agentConfigFor({ failOnGuidance: true }),
      installationId: repo().installationId,
      passes: { branch, pr: 84 },
    });
    await harness().receive("issues", issueLabeled({ repo: repo(), number: 83, title: issue.title }));
    await harness().drain();

    const api = github.api();
    mockPermission(api, REVIEWER.login, "write");
    mockReviewComments(api, { pr: 84, reviewId: 603, comments: [] });
    mockIssue(api, issue);
    mockDiscussion(api, 83);
    const answers: string[] = [];
    api.post(`${REPO_PATH}/issues/84/comments`).reply(201, (_uri, body) => {
      answers.push((body as { body: string }).body);
      return commentReply({ id: 8203, issue: 84, by: TEST_BOT, body: (body as { body: string }).body });
    });
    await harness().receive(
      "pull_request_review",
      reviewSubmitted({
        id: 603,
        state: "changes_requested",
        body: "Rewrite it.",
        by: REVIEWER,
        pr: 84,
        headRef: branch,
      }),
    );
    await harness().drain();

    const { task } = await taskOf(db(), repo(), 83);
    expect(task).toMatchObject({ state: "failed", reworkCount: 1 });
    expect(answers).toHaveLength(1);
    expect(answers[0]).toContain(
      `@reviewer: Drover could not rework this pull request for your [review](${reviewUrl(84, 603)}) (attempt 2, \`failed\`)`,
    );
    expect(answers[0]).toContain("**Why:**");
    expect(answers[0]).toContain("`/drover retry`");
  });
});
