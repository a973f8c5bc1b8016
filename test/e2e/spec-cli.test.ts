import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { startTestSandbox, type TestSandbox } from "../helpers/sandbox.ts";
import { TEST_REDIS_URL } from "../helpers/services.ts";
import { WorkQueue } from "../../src/queue/queue.ts";
import { connectRedis, deleteQueueKeys } from "../../src/queue/redis.ts";
import { startControlId } from "../../src/main/start-tasks.ts";

const CLI = new URL("../../src/main/cli.ts", import.meta.url).pathname;
const TSX = import.meta.resolve("tsx");
const PLANNER = new URL("../fixtures/agents/planner.mjs", import.meta.url).pathname;

/** `drover spec --dry-run` with a fake planning agent: the tree on stdout, nothing kept, exit codes. */
describe("drover spec", { timeout: 120_000 }, () => {
  let dir: string;
  let tmp: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "drover-spec-cli-"));
    tmp = await mkdtemp(path.join(os.tmpdir(), "drover-spec-tmp-"));
    await mkdir(path.join(dir, "docs"));
    await writeFile(path.join(dir, "docs", "more.md"), "LINKED-MARKER\n");
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await rm(tmp, { recursive: true, force: true });
  });

  const drover = (args: string[]) =>
    execa(process.execPath, ["--import", TSX, CLI, "spec", ...args], {
      cwd: dir,
      reject: false,
      // No GitHub credentials: a dry run needs none. The planning copy goes under a temp dir of the test's.
      env: { TMPDIR: tmp, APP_ID: "", PRIVATE_KEY: "", PRIVATE_KEY_PATH: "" },
    });
  const withPlanner = ["--repo", "acme/app", "--agent", "command", "--agent-command", `node ${PLANNER}`];

  it("prints the proposed tree from the spec and the file it links, and keeps nothing the agent wrote", async () => {
    await writeFile(path.join(dir, "spec.md"), "# Greeting\n\nSee [more](docs/more.md). PLAN-WRITE\n");
    const run = await drover(["spec.md", "--dry-run", ...withPlanner]);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toBe(
      [
        "- **epic** `E1` Greeting · priority 7 (high)",
        "  People are greeted",
        "  - **story** `S1` Say hello · priority 6 (high)",
        "    The hello part",
        "    - **task** `T1` Write the greeting · priority 8 (high)",
        "      A GREETING.md with hello",
        "    - **task** `T2` Use the greeting · priority 5 (normal)",
        "      Print GREETING.md",
        "      blocked by `T1`",
        "  - **task** `T3` From the linked file · priority 3 (low)",
        "    Read from the spec's file",
      ].join("\n"),
    );
    expect(run.stderr).toContain("the agent changed planner-was-here.txt in its read-only copy; discarded");
    expect(run.stderr).toContain("--dry-run: 5 items proposed, nothing created");
    // tsx keeps its cache in the temp dir; the planning copy is gone.
    expect((await readdir(tmp)).filter((name) => name.startsWith("drover-spec-"))).toEqual([]);
    expect(await readdir(dir)).toEqual(["docs", "spec.md"]);
  });

  it("refuses a plan with a cycle, naming it and keeping nothing, and a spec that is not there or not a file", async () => {
    await writeFile(path.join(dir, "cycle.md"), "# Cycle\n\nPLAN-CYCLE\n");
    const cycle = await drover(["cycle.md", "--dry-run", ...withPlanner]);
    expect(cycle.exitCode).toBe(1);
    expect(cycle.stdout).toBe("");
    expect(cycle.stderr).toContain("  - cycle: T2 → T3 → T2");
    expect(cycle.stderr).toContain("drover: no plan: nothing was created");
    // No plan still cleans up: the read-only copy and the agent's unscrubbed log are gone.
    expect((await readdir(tmp)).filter((name) => name.startsWith("drover-spec-"))).toEqual([]);

    const missing = await drover(["nowhere.md", "--dry-run", ...withPlanner]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toBe("drover: cannot read the spec nowhere.md: ENOENT");
    // There, but not readable as a file: a failure with its reason, not "does not exist".
    const directory = await drover(["docs", "--dry-run", ...withPlanner]);
    expect(directory.exitCode).toBe(1);
    expect(directory.stderr).toMatch(/^drover: cannot read the spec docs: EISDIR/);
  });
});

/** `drover spec` creating its proposal in the sandbox as the App's installation, twice. */
describe("drover spec, creating", { timeout: 120_000 }, () => {
  let sandbox: TestSandbox;
  let dir: string;
  const prefix = `drover-test-${randomBytes(4).toString("hex")}`;
  const connection = connectRedis(TEST_REDIS_URL);
  const queue = new WorkQueue(connection, prefix, () => {});
  beforeAll(async () => {
    sandbox = await startTestSandbox();
    dir = await mkdtemp(path.join(os.tmpdir(), "drover-spec-make-"));
    await writeFile(path.join(dir, "spec.md"), "# Greeting\n\nWe greet people.\n");
  });
  afterAll(async () => {
    await queue.close();
    connection.disconnect();
    await deleteQueueKeys(TEST_REDIS_URL, prefix);
    await sandbox?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("creates the tree with its links, starts its tasks once, and the proposal it kept (--out) or the same proposal again creates nothing", async () => {
    const repo = await sandbox.newRepo("specced", { autoInit: false });
    const config = `agent: command\nagent_command: ${JSON.stringify([process.execPath, PLANNER])}\n`;
    await sandbox.as("maintainer").rest.repos.createOrUpdateFileContents({
      ...repo,
      path: ".github/drover.yml",
      message: "Configure Drover",
      content: Buffer.from(config).toString("base64"),
    });
    const drover = (...args: string[]) =>
      execa(process.execPath, ["--import", TSX, CLI, ...args], {
        cwd: dir,
        reject: false,
        env: {
          ...sandbox.sandbox.droverEnv(),
          GITHUB_THROTTLE: "off",
          REDIS_URL: TEST_REDIS_URL,
          DROVER_QUEUE_PREFIX: prefix,
        },
      });
    const spec = () => drover("spec", "spec.md", "--repo", "acme/specced", "--out", "plan.jsonl");
    const first = await spec();
    expect(first.stderr).not.toContain("drover: no plan");
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toContain("- **epic** `E1` Greeting");
    expect(first.stdout.match(/^created #\d+/gm)).toHaveLength(4);
    const issues = [...sandbox.sandbox.world.repo("acme", "specced")!.issues.values()];
    // Drover ignores its own App's labels: each task is started by an operator's `/drover run`, queued once.
    const tasks = issues.filter((issue) => issue.labels.some((label) => label.name === "drover"));
    expect(tasks.length).toBeGreaterThan(0);
    expect(first.stderr).toContain(`queued /drover run for ${tasks.length} task(s)`);
    for (const task of tasks)
      expect(await queue.state("main", startControlId("acme/specced", task.number))).toBe("waiting");
    const byTitle = (title: string) => issues.find((issue) => issue.title === title)!;
    expect(byTitle("Greeting").subIssues.map((i) => i.title)).toEqual(["Say hello"]);
    expect(byTitle("Use the greeting").blockedBy.map((i) => i.title)).toEqual(["Write the greeting"]);
    expect(byTitle("Write the greeting").labels.map((l) => l.name)).toContain("drover");

    const second = await spec();
    expect(second.exitCode).toBe(0);
    expect(second.stdout.match(/^found {3}#\d+/gm)).toHaveLength(4);
    expect(sandbox.sandbox.world.repo("acme", "specced")!.issues.size).toBe(issues.length);
    expect(await queue.counts()).toMatchObject({ wait: tasks.length });

    // The proposal it kept: import-jsonl finds all of it (what an interrupted run would finish), starts nothing twice.
    expect(first.stderr).toContain(
      "the proposal is in plan.jsonl: `drover import-jsonl plan.jsonl --repo acme/specced`",
    );
    const imported = await drover("import-jsonl", "plan.jsonl", "--repo", "acme/specced");
    expect(imported.exitCode).toBe(0);
    expect(imported.stdout).toContain("Created 0, already there 4, links added 0");
    expect(sandbox.sandbox.world.repo("acme", "specced")!.issues.size).toBe(issues.length);
    expect(await queue.counts()).toMatchObject({ wait: tasks.length });
  });
});
