import { Octokit } from "@octokit/rest";
import { DEFAULT_LABEL } from "../config/schema.ts";
import { DEMO_FILES, DEMO_ISSUES, DEMO_REPO, demoConfig, type DemoIssue } from "./scenario.ts";

/**
 * The demo's maintainer, acting through the sandbox's REST API with their own token as a person would:
 * creates the repository and its issues, links them, labels them, and merges Drover's passing pull
 * requests. Nothing here reaches into Drover.
 */

export type Person = InstanceType<typeof Octokit>;

export function personClient(apiUrl: string, token: string): Person {
  return new Octokit({ baseUrl: apiUrl, auth: token, userAgent: "drover-demo", log: quiet });
}

const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** The repository, its files (with `.github/drover.yml`) and its issues, linked but not yet labelled. */
export async function seedRepository(
  person: Person,
  org: string,
  config: { agentCommand: string[]; workers: number },
  issues: readonly DemoIssue[] = DEMO_ISSUES,
): Promise<{ repo: { owner: string; repo: string }; ids: Map<number, number> }> {
  await person.rest.repos.createInOrg({ org, name: DEMO_REPO, description: "Drover's demo project" });
  const repo = { owner: org, repo: DEMO_REPO };
  const files = { ...DEMO_FILES, ".github/drover.yml": demoConfig(config) };
  for (const [path, text] of Object.entries(files)) {
    await person.rest.repos.createOrUpdateFileContents({
      ...repo,
      path,
      message: `Add ${path}`,
      content: Buffer.from(text).toString("base64"),
    });
  }
  const ids = new Map<number, number>();
  for (const issue of issues) {
    const { data } = await person.rest.issues.create({ ...repo, title: issue.title, body: issue.body });
    if (data.number !== issue.number)
      throw new Error(
        `expected issue #${issue.number}, the sandbox made #${data.number}: start from a fresh sandbox`,
      );
    ids.set(issue.number, data.id);
  }
  for (const issue of issues) {
    for (const blocker of issue.blockedBy) {
      await person.rest.issues.addBlockedByDependency({
        ...repo,
        issue_number: issue.number,
        issue_id: ids.get(blocker)!,
      });
    }
    for (const child of issue.subIssues) {
      await person.rest.issues.addSubIssue({
        ...repo,
        issue_number: issue.number,
        sub_issue_id: ids.get(child)!,
      });
    }
  }
  return { repo, ids };
}

export async function labelAll(
  person: Person,
  repo: { owner: string; repo: string },
  numbers: readonly number[],
  label = DEFAULT_LABEL,
): Promise<void> {
  for (const number of numbers)
    await person.rest.issues.addLabels({ ...repo, issue_number: number, labels: [label] });
}

/**
 * One round of review: every open pull request whose Drover check run passed is merged (which closes
 * its issue and unblocks its dependents). Returns the numbers merged.
 */
export async function mergePassing(person: Person, repo: { owner: string; repo: string }): Promise<number[]> {
  const { data: pulls } = await person.rest.pulls.list({ ...repo, state: "open", per_page: 100 });
  const merged: number[] = [];
  for (const pull of pulls) {
    const { data: checks } = await person.rest.checks.listForRef({ ...repo, ref: pull.head.sha });
    const passed = checks.check_runs.some((run) => run.name === "Drover" && run.conclusion === "success");
    if (!passed) continue;
    await person.rest.pulls.merge({
      ...repo,
      pull_number: pull.number,
      sha: pull.head.sha,
      merge_method: "merge",
    });
    merged.push(pull.number);
  }
  return merged;
}
