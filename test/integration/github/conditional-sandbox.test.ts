import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requestBudget } from "../../../src/github/budget.ts";
import { droverApp, startTestSandbox, type TestSandbox } from "../../helpers/sandbox.ts";

/** Drover's client against the sandbox, which answers conditional requests as GitHub does. */
describe("conditional requests through the sandbox", () => {
  let sandbox: TestSandbox;
  beforeAll(async () => {
    sandbox = await startTestSandbox();
  });
  afterAll(() => sandbox.close());

  it("a repeated read of an issue, its links and a listing is a 304 GitHub does not charge, with the same data", async () => {
    const github = droverApp(sandbox);
    const repo = await sandbox.newRepo("etags", { autoInit: false });
    const maintainer = sandbox.as(sandbox.sandbox.users[0]!.login);
    const { data: created } = await maintainer.rest.issues.create({ ...repo, title: "Cache me" });
    const installationId = sandbox.sandbox.installationId;
    requestBudget.clear();
    const before = sandbox.sandbox.requests.length;

    const reads = async () => {
      const octokit = await github.installation(installationId);
      const issue = await octokit.rest.issues.get({ ...repo, issue_number: created.number });
      const list = await octokit.rest.issues.listForRepo({ ...repo, state: "open" });
      return [issue.status, issue.data, list.status, list.data];
    };
    const first = await reads();
    const second = await reads();

    expect(second).toEqual(first);
    const served = sandbox.sandbox.requests.slice(before).filter((r) => r.method === "GET");
    expect(served.map((r) => [r.route, r.status, r.notModified])).toEqual([
      ["/repos/{owner}/{repo}/issues/{issue_number}", 200, false],
      ["/repos/{owner}/{repo}/issues", 200, false],
      ["/repos/{owner}/{repo}/issues/{issue_number}", 304, true],
      ["/repos/{owner}/{repo}/issues", 304, true],
    ]);
    const budget = requestBudget.budgetOf(installationId);
    expect(budget).toMatchObject({ requests: 4, notModified: 2 });
    expect(budget.rate?.remaining).toBe(sandbox.sandbox.rateLimit(installationId).remaining);
  });
});
