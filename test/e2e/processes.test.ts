import { describe, expect, it } from "vitest";
import { taskSummaries } from "../../src/db/tasks.ts";
import { SCRIPTED_AGENT } from "../../src/demo/run-demo.ts";
import { demoConfig } from "../../src/demo/scenario.ts";
import { readBlob } from "../../src/sandbox/git/refs.ts";
import type { Person } from "../../src/demo/maintainer.ts";
import type { IssueRecord } from "../../src/sandbox/world.ts";
import { STATUS_MARKER } from "../../src/github/comments.ts";
import { BOT, eventually, repoWithConfig, useStack } from "../helpers/stack.ts";

/**
 * Drover as it runs in production: web and worker as separate processes, PostgreSQL and Redis, and the
 * sandbox in place of GitHub. Everything below happens through webhooks, REST and git over HTTP.
 */

const AGENT_CONFIG = demoConfig({ agentCommand: [process.execPath, SCRIPTED_AGENT], workers: 2 });
const fileBlock = (path: string, text: string) => `\`\`\`js file=${path}\n${text}\n\`\`\``;

const drover = useStack({ workers: 2 });

const makeRepo = (name: string, config: string) => repoWithConfig(drover.as("maintainer"), name, config);

async function openIssue(person: Person, repo: { owner: string; repo: string }, title: string, body: string) {
  const { data } = await person.rest.issues.create({ ...repo, title, body });
  return data;
}

function world(repo: { repo: string }) {
  const record = drover.stack().sandbox.world.repo("acme", repo.repo);
  if (!record) throw new Error(`no repository ${repo.repo}`);
  return record;
}

/** The open or merged pull request that Drover opened for issue `number`. */
function pullFor(repo: { repo: string }, number: number): IssueRecord | undefined {
  return [...world(repo).issues.values()].find(
    (issue) => issue.pull && issue.user.login === BOT && issue.body?.includes(`Closes #${number}`),
  );
}

function botComments(repo: { repo: string }, number: number) {
  return (
    world(repo)
      .issues.get(number)
      ?.comments.filter((comment) => comment.user.login === BOT) ?? []
  );
}

describe("Drover's processes against the sandbox", () => {
  it("turns a labelled issue into a pull request, and merging it starts the task it blocked", async () => {
    const repo = await makeRepo("chain", AGENT_CONFIG);
    const maintainer = drover.as("maintainer");
    const first = await openIssue(
      maintainer,
      repo,
      "Add greet",
      fileBlock("src/greet.js", "export const greet = (n) => `hi ${n}`;"),
    );
    const second = await openIssue(
      maintainer,
      repo,
      "Use greet",
      fileBlock("src/main.js", 'import { greet } from "./greet.js";\nconsole.log(greet("you"));'),
    );
    await maintainer.rest.issues.addBlockedByDependency({
      ...repo,
      issue_number: second.number,
      issue_id: first.id,
    });
    for (const issue of [first, second])
      await maintainer.rest.issues.addLabels({ ...repo, issue_number: issue.number, labels: ["drover"] });

    const pull = await eventually("a pull request for the first issue", () => pullFor(repo, first.number));
    const check = await eventually("a passing check run on it", () =>
      world(repo).checkRuns.find((run) => run.headSha === pull.pull!.headSha && run.conclusion === "success"),
    );
    expect(check.name).toBe("Drover");
    expect(pull.pull!.head).toMatch(/^drover\/\d+-add-greet$/);
    const bare = drover.stack().sandbox.bareRepository("acme", "chain");
    expect((await readBlob(bare, pull.pull!.headSha, "src/greet.js"))?.toString()).toContain("hi ${n}");

    // The second waits for the first: no pull request, recorded as waiting.
    const states = await taskSummaries(drover.database().db, "acme/chain");
    expect(states.find((t) => t.number === second.number)?.state).toBe("waiting");
    expect(pullFor(repo, second.number)).toBeUndefined();

    await maintainer.rest.pulls.merge({ ...repo, pull_number: pull.number });
    expect(world(repo).issues.get(first.number)?.state).toBe("closed");
    const next = await eventually("a pull request for the second issue", () => pullFor(repo, second.number));
    // It was made from main after the merge: the first task's file is there.
    expect(await readBlob(bare, next.pull!.headSha, "src/greet.js")).not.toBeNull();
    expect((await readBlob(bare, next.pull!.headSha, "src/main.js"))?.toString()).toContain("greet");

    await eventually("the first task recorded as done", async () =>
      (await taskSummaries(drover.database().db, "acme/chain")).find(
        (t) => t.number === first.number && t.state === "done",
      ),
    );
    // One status comment per issue, edited in place.
    expect(botComments(repo, first.number).filter((c) => c.body.includes(STATUS_MARKER))).toHaveLength(1);
  }, 60_000);

  it("starts work only for people with write access", async () => {
    const repo = await makeRepo("permissions", AGENT_CONFIG);
    const issue = await openIssue(
      drover.as("reader"),
      repo,
      "Add a licence",
      fileBlock("LICENSE.js", "// MIT"),
    );

    // A reader cannot label at all; a triager can, and Drover refuses them on the issue.
    await expect(
      drover.as("reader").rest.issues.addLabels({ ...repo, issue_number: issue.number, labels: ["drover"] }),
    ).rejects.toMatchObject({ status: 403 });
    await drover
      .as("triager")
      .rest.issues.addLabels({ ...repo, issue_number: issue.number, labels: ["drover"] });
    const refusal = await eventually("Drover's refusal", () =>
      botComments(repo, issue.number).find((c) => c.body.includes("Drover did not start")),
    );
    expect(refusal.body).toContain("@triager has `triage` access");
    expect(await taskSummaries(drover.database().db, "acme/permissions")).toEqual([]);

    // A developer (write access) re-applies the label: the task runs.
    await drover
      .as("developer")
      .rest.issues.removeLabel({ ...repo, issue_number: issue.number, name: "drover" });
    await drover
      .as("developer")
      .rest.issues.addLabels({ ...repo, issue_number: issue.number, labels: ["drover"] });
    await eventually("a pull request after the developer's label", () => pullFor(repo, issue.number));
  }, 60_000);

  it("reads .github/drover.yml from the repository", async () => {
    const repo = await makeRepo("configured", `label: agent-task\n${AGENT_CONFIG}`);
    const maintainer = drover.as("maintainer");
    const ignored = await openIssue(maintainer, repo, "Not for Drover", fileBlock("a.js", "1"));
    const wanted = await openIssue(maintainer, repo, "For Drover", fileBlock("b.js", "2"));
    await maintainer.rest.issues.addLabels({ ...repo, issue_number: ignored.number, labels: ["drover"] });
    await maintainer.rest.issues.addLabels({ ...repo, issue_number: wanted.number, labels: ["agent-task"] });
    await eventually("a pull request for the agent-task issue", () => pullFor(repo, wanted.number));
    expect(botComments(repo, ignored.number)).toEqual([]);

    const broken = await makeRepo("misconfigured", "max_workers: lots\n");
    const issue = await openIssue(maintainer, broken, "Anything", "");
    await maintainer.rest.issues.addLabels({ ...broken, issue_number: issue.number, labels: ["drover"] });
    const problem = await eventually("the config error on the issue", () =>
      botComments(broken, issue.number).find((c) => c.body.includes("is not valid")),
    );
    expect(problem.body).toContain("`max_workers`");
    expect(problem.body).toContain('"lots"');
  }, 60_000);
});
