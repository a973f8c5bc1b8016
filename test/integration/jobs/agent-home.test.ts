import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { useDrover } from "../../helpers/drover.ts";
import { mockInstallationToken } from "../../helpers/github.ts";
import {
  agentConfig,
  mockConfig,
  mockFirstStatus,
  mockIssueState,
  mockPermission,
  mockRunThatFails,
  recorder,
  runDirs,
  taskOf,
} from "../../helpers/github-flows.ts";
import { MAINTAINER, issueLabeled } from "../../helpers/payloads.ts";

/** The command adapter with a cache dir, as OpenCode's adapter has one for its packages. */
vi.mock("../../../src/agent/adapters/index.ts", async (importOriginal) => {
  const original = await importOriginal<typeof import("../../../src/agent/adapters/index.ts")>();
  return {
    ...original,
    getAdapter: (name: string) => {
      const adapter = original.getAdapter(name);
      return adapter?.name === "command" ? { ...adapter, cacheDirs: [".cache/fake-cli"] } : adapter;
    },
  };
});

const TOKEN = "fake-cli-token-0123456789abcdef";

/**
 * The HOME each agent run gets through run-task: the worker's credential files (DROVER_AGENT_CREDENTIALS)
 * copied in and scrubbed from what is posted, and the agent's caches shared across runs.
 */
describe("run-task's agent HOME", () => {
  const { db, harness, sandbox, repo, github } = useDrover();
  let workerHome: string;
  const realHome = process.env.HOME;

  beforeAll(async () => {
    // os.homedir(), which the credential paths are relative to, is the worker's HOME.
    workerHome = await mkdtemp(path.join(os.tmpdir(), "drover-worker-home-"));
    await mkdir(path.join(workerHome, ".fake"));
    await writeFile(path.join(workerHome, ".fake/auth.json"), JSON.stringify({ token: TOKEN }), {
      mode: 0o600,
    });
    process.env.HOME = workerHome;
  });
  afterAll(async () => {
    process.env.HOME = realHome;
    await rm(workerHome, { recursive: true, force: true });
  });

  /**
   * Labels issue `issue` with home-check.mjs (`args`) as its agent, under DROVER_AGENT_CREDENTIALS
   * `credentials`; the run is expected to fail. `starts: false` for a run refused before the agent starts;
   * `again` for a later run of the same test (the harness has the token and the bot's identity already).
   */
  async function runFailing(
    issue: number,
    input: { args: string[]; credentials: string[]; starts?: boolean; again?: boolean; extra?: string },
  ) {
    const { args, credentials, starts = true, again = false, extra = "" } = input;
    harness().deps.env.DROVER_AGENT_CREDENTIALS = credentials;
    const sent = recorder();
    const testIssue = { number: issue, title: `Home ${issue}`, labels: ["drover"] };
    const api = github.api();
    if (!again) mockInstallationToken(github.api().persist(), repo().installationId);
    mockConfig(api, agentConfig("home-check.mjs", { args, extra }));
    mockPermission(api, MAINTAINER.login, "write");
    mockFirstStatus(api, sent, issue, 9300 + issue);
    // An agent that never started makes no commit, so the bot's identity is not read.
    mockRunThatFails(api, { issue: testIssue, identity: starts && !again });
    mockIssueState(github.optional(), sent, { issue, commentId: 9300 + issue, labels: testIssue.labels });
    await harness().receive("issues", issueLabeled({ repo: repo(), number: issue, title: `Home ${issue}` }));
    await harness().drain();
    const { task } = await taskOf(db(), repo(), issue);
    return { task, status: sent.comments.at(-1)?.body ?? "" };
  }

  async function runHome(issue: number): Promise<string> {
    const [run] = await runDirs(sandbox().home, repo(), issue);
    return path.join(sandbox().home, "runs", run ?? "none", "home");
  }

  it("gives the agent the credential file read-only, scrubs its values from the status, and removes it after a failed run", async () => {
    const { task, status } = await runFailing(31, {
      args: ["cred:.fake/auth.json", "cache:.cache/fake-cli", "--mark=run 31", "--fail"],
      credentials: ["~/.fake/auth.json"],
    });
    expect(task?.state).toBe("failed");
    // The agent read it, at the same place under its HOME, read-only; the status shows it scrubbed.
    expect(status).toContain('cred .fake/auth.json mode=400 content={"token":"[REDACTED:secret]"}');
    expect(status).not.toContain(TOKEN);
    const { attempts } = await taskOf(db(), repo(), 31);
    expect(attempts[0]?.logTail).toContain('content={"token":"[REDACTED:secret]"}');
    expect(JSON.stringify(attempts)).not.toContain(TOKEN);
    expect(status).toContain("cache .cache/fake-cli seen=none");
    await expect(stat(path.join(await runHome(31), ".fake/auth.json"))).rejects.toMatchObject({
      code: "ENOENT",
    });
    // The run's cache is the agent's shared one, and holds no credential.
    const shared = path.join(sandbox().home, "agent-cache/command/.cache/fake-cli");
    expect(await readFile(path.join(shared, "seen"), "utf8")).toBe("run 31");
    expect(await readdir(path.join(sandbox().home, "agent-cache/command"), { recursive: true })).toEqual([
      ".cache",
      ".cache/fake-cli",
      ".cache/fake-cli/seen",
    ]);
  });

  it("shares the agent's cache with a later run", async () => {
    await runFailing(32, { args: ["cache:.cache/fake-cli", "--mark=run 32", "--fail"], credentials: [] });
    const { status } = await runFailing(36, {
      args: ["cache:.cache/fake-cli", "--fail"],
      credentials: [],
      again: true,
    });
    expect(status).toContain("cache .cache/fake-cli seen=run 32");
  });

  it("fails the attempt on a credential file that is missing, naming it and what to do", async () => {
    const { task, status } = await runFailing(33, {
      args: ["--fail"],
      credentials: ["~/.codex/auth.json"],
      starts: false,
    });
    expect(task?.state).toBe("failed");
    const reason =
      "DROVER_AGENT_CREDENTIALS names ~/.codex/auth.json, which cannot be read on this worker (ENOENT): log in there as the worker's user, or take it out of the list";
    expect(task?.stateReason).toContain(reason);
    expect(status).toContain(reason);
    // The worker's own paths stay on the worker.
    expect(status).not.toContain(workerHome);
  });

  it("stops an agent idle for agent_idle_timeout as unavailable, and removes the credential file", async () => {
    const started = Date.now();
    const { task, status } = await runFailing(35, {
      args: ["cred:.fake/auth.json", "--hang"],
      credentials: ["~/.fake/auth.json"],
      extra: "agent_idle_timeout: 10s",
    });
    // Ten seconds of silence (the shortest agent_idle_timeout drover.yml takes), not the 60s task_timeout.
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(task?.state).toBe("failed");
    expect(status).toContain(
      "**Why:** agent command is unavailable (no output and no file changed for 10s, the agent_idle_timeout: it may be waiting for the network or for a login)",
    );
    expect(status).toContain('content={"token":"[REDACTED:secret]"}');
    await expect(stat(path.join(await runHome(35), ".fake/auth.json"))).rejects.toMatchObject({
      code: "ENOENT",
    });
  });

  it("refuses a credential file outside the worker's HOME", async () => {
    const { task } = await runFailing(34, {
      args: ["--fail"],
      credentials: ["/etc/hostname"],
      starts: false,
    });
    expect(task?.state).toBe("failed");
    expect(task?.stateReason).toContain(
      "DROVER_AGENT_CREDENTIALS names a file outside the worker's HOME (hostname); name files under it, as ~/.codex/auth.json",
    );
  });
});
