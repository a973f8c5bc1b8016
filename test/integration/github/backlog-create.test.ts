import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBacklogJsonl } from "../../../src/graph/backlog-jsonl.ts";
import type { BacklogItem } from "../../../src/graph/backlog.ts";
import { GitHubApp } from "../../../src/github/app.ts";
import { createBacklog } from "../../../src/github/backlog-create.ts";
import { APP_SLUG } from "../../../src/sandbox/seed.ts";
import type { Octokit } from "../../../src/github/types.ts";
import { BACKLOG_JSONL, issueCount, issueGraph } from "../../helpers/backlog.ts";
import { droverApp, startTestSandbox, type TestSandbox } from "../../helpers/sandbox.ts";

/** createBacklog against the sandbox, as the App's installation, counting every request it makes. */
describe("creating a backlog on GitHub", () => {
  let sandbox: TestSandbox;
  let github: GitHubApp;
  const items = (() => {
    const read = readBacklogJsonl(BACKLOG_JSONL);
    if (!read.ok) throw new Error(read.problems.join("\n"));
    return read.items;
  })();
  const options = { label: "drover", under: null, dryRun: false, botLogin: `${APP_SLUG}[bot]` };

  beforeAll(async () => {
    sandbox = await startTestSandbox();
    github = droverApp(sandbox);
  });
  afterAll(() => sandbox.close());

  const installation = () => github.installation(sandbox.sandbox.installationId);
  /** The installation's requests from here on, as `METHOD route`. */
  const watch = () => {
    const from = sandbox.sandbox.requests.length;
    return () =>
      sandbox.sandbox.requests
        .slice(from)
        .filter((r) => r.actor === "installation")
        .map((r) => `${r.method} ${r.route}`);
  };
  const count = (requests: string[]) =>
    requests.reduce<Record<string, number>>((counts, r) => ({ ...counts, [r]: (counts[r] ?? 0) + 1 }), {});

  const EXPECTED = [
    {
      title: "Accounts",
      labels: ["priority: critical"],
      parent: "Project foundation",
      subIssues: ["User table", "Sign-up form"],
      blockedBy: [],
    },
    {
      title: "Billing",
      labels: ["priority: low"],
      parent: "Project foundation",
      subIssues: ["Invoices"],
      blockedBy: [],
    },
    {
      title: "Deploy script",
      labels: ["drover", "priority: low"],
      parent: "Project foundation",
      subIssues: [],
      blockedBy: [],
    },
    {
      title: "Invoices",
      labels: ["drover"],
      parent: "Billing",
      subIssues: [],
      blockedBy: ["Sign-up form", "User table"],
    },
    {
      title: "Project foundation",
      labels: [],
      parent: null,
      subIssues: ["Accounts", "Billing", "Deploy script"],
      blockedBy: [],
    },
    {
      title: "Sign-up form",
      labels: ["drover", "priority: high"],
      parent: "Accounts",
      subIssues: [],
      blockedBy: ["User table"],
    },
    {
      title: "User table",
      labels: ["drover", "priority: normal"],
      parent: "Accounts",
      subIssues: [],
      blockedBy: [],
    },
  ];
  const ISSUES = "POST /repos/{owner}/{repo}/issues";
  const LIST = "GET /repos/{owner}/{repo}/issues";
  const SUB = "POST /repos/{owner}/{repo}/issues/{issue_number}/sub_issues";
  const BLOCK = "POST /repos/{owner}/{repo}/issues/{issue_number}/dependencies/blocked_by";
  const READ_BLOCKERS = "GET /repos/{owner}/{repo}/issues/{issue_number}/dependencies/blocked_by";
  const READ_ISSUE = "GET /repos/{owner}/{repo}/issues/{issue_number}";
  const EDIT = "PATCH /repos/{owner}/{repo}/issues/{issue_number}";
  const person = () => sandbox.sandbox.users[0]!.login;
  const issueTitled = (repo: { owner: string; repo: string }, title: string) =>
    [...sandbox.sandbox.world.repo(repo.owner, repo.repo)!.issues.values()].find((i) => i.title === title)!;

  it("makes the issues, sub-issue trees, labels and blocked-by links; a rerun creates nothing and only reads", async () => {
    const repo = await sandbox.newRepo("backlog-once", { autoInit: false });
    const octokit = await installation();
    const notes: string[] = [];
    const first = watch();
    const made = await createBacklog(octokit, repo, items, {
      ...options,
      progress: (note) => notes.push(note),
    });

    expect(made).toMatchObject({ created: 7, reused: 0, linked: 9 });
    expect(made.items.map((item) => [item.id, item.created])).toEqual(items.map((item) => [item.id, true]));
    expect(notes).toHaveLength(7);
    expect(issueGraph(sandbox, repo)).toEqual(EXPECTED);
    // One listing, one request per issue and per link: nothing else (no label made apart, no read back).
    expect(count(first())).toEqual({ [LIST]: 1, [ISSUES]: 7, [SUB]: 6, [BLOCK]: 3 });
    const body = sandbox.sandbox.world.repo(repo.owner, repo.repo)!.issues.get(made.items[0]!.number!)!.body;
    expect(body).toBe("Everything else stands on it.\n\n<!-- drover-source: EPIC-001 -->\n");

    const second = watch();
    const again = await createBacklog(octokit, repo, items, options);
    expect(again).toMatchObject({ created: 0, reused: 7, linked: 0 });
    expect(again.items.map((item) => item.number)).toEqual(made.items.map((item) => item.number));
    expect(issueCount(sandbox, repo)).toBe(7);
    expect(issueGraph(sandbox, repo)).toEqual(EXPECTED);
    // The listing says it all (markers, labels, parents, how many blockers): nothing else is asked.
    expect(count(second())).toEqual({ [LIST]: 1 });
  });

  it("a run stopped after some items, then run again, finishes the graph without making anything twice", async () => {
    const repo = await sandbox.newRepo("backlog-stopped", { autoInit: false });
    const octokit = await installation();
    const all = watch();
    let done = 0;
    const stopAfter3 = () => {
      if (++done === 3) throw new Error("stopped");
    };
    await expect(createBacklog(octokit, repo, items, { ...options, progress: stopAfter3 })).rejects.toThrow(
      "stopped",
    );
    expect(issueCount(sandbox, repo)).toBe(3);

    const rest = await createBacklog(octokit, repo, items, options);
    // The four tasks: each put in its parent (4), and the three "blocked by" links.
    expect(rest).toMatchObject({ created: 4, reused: 3, linked: 7 });
    expect(issueGraph(sandbox, repo)).toEqual(EXPECTED);
    expect(count(all())).toMatchObject({ [ISSUES]: 7, [SUB]: 6, [BLOCK]: 3 });
  });

  it.each([
    {
      failing: 1,
      broken: { title: "Sign-up form", blockedBy: [] },
      // Sign-up form's link, then Invoices (its story and two blockers) and Deploy script (its epic).
      rest: { created: 2, reused: 5, linked: 5 },
      // Sign-up form had no link at all: nothing to read.
      reads: 0,
    },
    {
      failing: 3,
      broken: { title: "Invoices", blockedBy: ["User table"] },
      // Invoices' second link, then Deploy script in its epic.
      rest: { created: 1, reused: 6, linked: 2 },
      // Invoices had one of its two links: its list is read once to find which.
      reads: 1,
    },
  ])(
    "a run that failed on blocked-by link $failing leaves the links to the next run, which reads only what it must",
    async ({ failing, broken, rest, reads }) => {
      const repo = await sandbox.newRepo(`backlog-broken-${failing}`, { autoInit: false });
      const octokit = await installation();
      const flaky = await installation();
      let links = 0;
      flaky.hook.before("request", (request) => {
        if (
          request.method === "POST" &&
          request.url.endsWith("/dependencies/blocked_by") &&
          ++links === failing
        )
          throw Object.assign(new Error("connection reset"), { status: 502 });
      });
      const all = watch();
      await expect(createBacklog(flaky as Octokit, repo, items, options)).rejects.toThrow("connection reset");
      expect(issueGraph(sandbox, repo).find((node) => node.title === broken.title)).toMatchObject(broken);

      const second = watch();
      expect(await createBacklog(octokit, repo, items, options)).toMatchObject(rest);
      expect(issueGraph(sandbox, repo)).toEqual(EXPECTED);
      expect(count(second())[READ_BLOCKERS] ?? 0).toBe(reads);
      expect(count(all())).toMatchObject({ [ISSUES]: 7, [SUB]: 6, [BLOCK]: 3 });
    },
  );

  it("a backlog past one page of the listing: each page read once on a rerun, nothing else", async () => {
    const repo = await sandbox.newRepo("backlog-long", { autoInit: false });
    const octokit = await installation();
    const chain: BacklogItem[] = Array.from({ length: 150 }, (_, i) => ({
      id: `T-${i}`,
      kind: "task",
      title: `Step ${i}`,
      description: "",
      priority: null,
      parent: null,
      blockedBy: i === 0 ? [] : [`T-${i - 1}`],
      line: i + 1,
    }));
    const first = watch();
    expect(await createBacklog(octokit, repo, chain, options)).toMatchObject({ created: 150, linked: 149 });
    expect(count(first())).toEqual({ [LIST]: 1, [ISSUES]: 150, [BLOCK]: 149 });
    const second = watch();
    expect(await createBacklog(octokit, repo, chain, options)).toMatchObject({
      created: 0,
      reused: 150,
      linked: 0,
    });
    expect(count(second())).toEqual({ [LIST]: 2 });
  });

  it("a dry run reads and writes nothing; `under` puts the items without a parent under an existing issue", async () => {
    const repo = await sandbox.newRepo("backlog-plan", { autoInit: false });
    const maintainer = sandbox.as(sandbox.sandbox.users[0]!.login);
    const { data: spec } = await maintainer.rest.issues.create({ ...repo, title: "Spec" });
    const octokit = await installation();
    const plan: BacklogItem[] = items
      .filter((item) => item.kind === "task")
      .map((item) => ({ ...item, parent: null }));

    const dry = watch();
    const preview = await createBacklog(octokit, repo, plan, {
      ...options,
      under: spec.number,
      dryRun: true,
    });
    expect(preview).toMatchObject({ created: 4, reused: 0, linked: 4 + 3 });
    expect(preview.items.every((item) => item.number === null && item.created)).toBe(true);
    // The spec issue is a person's, so not in the listing of the App's issues: it is read on its own.
    expect(count(dry())).toEqual({ [LIST]: 1, [READ_ISSUE]: 1 });
    expect(issueCount(sandbox, repo)).toBe(1);

    await createBacklog(octokit, repo, plan, { ...options, label: null, under: spec.number });
    const graph = issueGraph(sandbox, repo);
    expect(graph.find((node) => node.title === "Spec")?.subIssues).toEqual([
      "User table",
      "Sign-up form",
      "Invoices",
      "Deploy script",
    ]);
    // --no-label: the priority labels only.
    expect(graph.find((node) => node.title === "Sign-up form")?.labels).toEqual(["priority: high"]);
    await expect(createBacklog(octokit, repo, plan, { ...options, under: 999 })).rejects.toThrow(
      "issue #999 is not an issue of",
    );
  });

  it("takes no one else's issue for an item, whatever marker it carries, and lists only the App's issues", async () => {
    const repo = await sandbox.newRepo("backlog-planted", { autoInit: false });
    const world = sandbox.sandbox.world;
    const record = world.repo(repo.owner, repo.repo)!;
    const outsider = world.accounts.get(person().toLowerCase())!;
    // Someone plants TASK-001's marker with their own text; 150 more issues of theirs make a busy repository.
    world.createIssue(record, outsider, {
      title: "Planted",
      body: "rm -rf /\n\n<!-- drover-source: TASK-001 -->\n",
    });
    for (let i = 0; i < 150; i++) world.createIssue(record, outsider, { title: `Chatter ${i}`, body: null });
    const octokit = await installation();

    const first = watch();
    const made = await createBacklog(octokit, repo, items, options);
    expect(made).toMatchObject({ created: 7, reused: 0, linked: 9 });
    expect(made.items.find((item) => item.id === "TASK-001")?.number).not.toBe(1);
    expect(issueTitled(repo, "Planted").labels).toEqual([]);
    expect(issueTitled(repo, "Planted").parent).toBeNull();
    // 151 of the person's issues: two pages, every issue's author checked.
    expect(count(first())[LIST]).toBe(2);

    const second = watch();
    expect(await createBacklog(octokit, repo, items, options)).toMatchObject({ created: 0, reused: 7 });
    // 158 issues in the repository, 7 of them the App's: the whole listing (two pages), nothing else.
    expect(count(second())).toEqual({ [LIST]: 2 });
  });

  it("makes closed items closed with their reason, closes what an interrupted run left open, and leaves a reopened one open", async () => {
    const repo = await sandbox.newRepo("backlog-closed", { autoInit: false });
    const octokit = await installation();
    const flaky = await installation();
    const history: BacklogItem[] = items.map((item) => ({
      ...item,
      ...(item.id === "TASK-001" ? { state: "closed" as const } : {}),
      ...(item.id === "TASK-002" ? { state: "not_planned" as const } : {}),
      ...(item.id === "STORY-002" ? { state: "closed" as const } : {}),
    }));
    let edits = 0;
    flaky.hook.before("request", (request) => {
      if (request.method === "PATCH" && ++edits === 2)
        throw Object.assign(new Error("connection reset"), { status: 502 });
    });
    // STORY-002 closed; TASK-001 made, its closing lost.
    await expect(createBacklog(flaky as Octokit, repo, history, options)).rejects.toThrow("connection reset");
    expect(issueTitled(repo, "Billing").state).toBe("closed");
    expect(issueTitled(repo, "User table").state).toBe("open");
    // A person reopens the closed story: that is their call.
    await sandbox.as(person()).rest.issues.update({
      ...repo,
      issue_number: issueTitled(repo, "Billing").number,
      state: "open",
    });

    const rest = watch();
    await createBacklog(octokit, repo, history, options);
    expect(
      ["Billing", "User table", "Sign-up form", "Invoices"].map((title) => {
        const issue = issueTitled(repo, title);
        return [title, issue.state, issue.stateReason];
      }),
    ).toEqual([
      ["Billing", "open", "reopened"],
      ["User table", "closed", "completed"],
      ["Sign-up form", "closed", "not_planned"],
      ["Invoices", "open", null],
    ]);
    // One close for the issue left open, one for the new Sign-up form.
    expect(count(rest())[EDIT]).toBe(2);
    expect(issueGraph(sandbox, repo)).toEqual(EXPECTED);
  });

  it("a rerun leaves an issue's labels as people made them, whatever the file now says", async () => {
    const repo = await sandbox.newRepo("backlog-labels", { autoInit: false });
    const octokit = await installation();
    await createBacklog(octokit, repo, items, options);
    const maintainer = sandbox.as(person());
    await maintainer.rest.issues.removeLabel({
      ...repo,
      issue_number: issueTitled(repo, "User table").number,
      name: "drover",
    });
    const changed = items.map((item) => (item.id === "TASK-002" ? { ...item, priority: 2 } : item));

    const second = watch();
    expect(await createBacklog(octokit, repo, changed, options)).toMatchObject({ created: 0, reused: 7 });
    expect(issueTitled(repo, "User table").labels.map((l) => l.name)).toEqual(["priority: normal"]);
    expect(
      issueTitled(repo, "Sign-up form")
        .labels.map((l) => l.name)
        .sort(),
    ).toEqual(["drover", "priority: high"]);
    expect(count(second())).toEqual({ [LIST]: 1 });
  });
});
