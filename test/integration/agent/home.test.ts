import { chmod, lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AgentCredentialsError, prepareAgentHome, type AgentHomeInput } from "../../../src/agent/home.ts";
import { chownTree, resolveAgentUser } from "../../../src/agent/os-user.ts";
import { runAgent } from "../../../src/agent/run-agent.ts";
import { AGENTS } from "../../helpers/github-flows.ts";

const HOME_CHECK = path.join(AGENTS, "home-check.mjs");
const AUTH = JSON.stringify({ tokens: { access_token: "access-token-0123456789abcdef" } });

let root: string;
/** The worker's own HOME, where its user logged in once. */
let workerHome: string;
let cacheRoot: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "drover-home-"));
  await chmod(root, 0o755); // DROVER_AGENT_USER must be able to reach its run
  workerHome = path.join(root, "worker");
  cacheRoot = path.join(root, "drover-home/agent-cache/fake");
  await mkdir(path.join(workerHome, ".fake"), { recursive: true });
  await writeFile(path.join(workerHome, ".fake/auth.json"), AUTH, { mode: 0o600 });
});
afterEach(() => rm(root, { recursive: true, force: true }));

function homeInput(run: string, overrides: Partial<AgentHomeInput> = {}): AgentHomeInput {
  return {
    home: path.join(root, "runs", run, "home"),
    cacheDirs: [],
    cacheRoot,
    credentials: [path.join(workerHome, ".fake/auth.json")],
    workerHome,
    ...overrides,
  };
}

/** Runs home-check.mjs with `home` as its HOME. */
async function runIn(home: string, args: string[], runAs?: { uid: number; gid: number }) {
  const run = path.dirname(home);
  const cwd = path.join(run, "worktree");
  await mkdir(cwd, { recursive: true });
  if (runAs) await chownTree(run, runAs.uid, runAs.gid);
  return runAgent({
    agent: "command",
    agentCommand: [process.execPath, HOME_CHECK, ...args],
    prompt: "look at HOME",
    cwd,
    workDir: path.join(run, "work"),
    timeoutMs: 10_000,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home },
    runAs,
  });
}

describe("prepareAgentHome: credential files", () => {
  it("copies each read-only to the same place under the run's HOME, where the CLI reads it, and removes it after", async () => {
    const input = homeInput("one");
    const home = await prepareAgentHome(input);
    const copy = path.join(input.home, ".fake/auth.json");
    expect((await stat(copy)).mode & 0o777).toBe(0o400);
    expect(await readFile(copy, "utf8")).toBe(AUTH);
    expect(home.secrets).toEqual(["access-token-0123456789abcdef"]);

    const result = await runIn(input.home, ["cred:.fake/auth.json"]);
    expect(result.outcome).toBe("exited");
    expect(result.logTail).toContain(`cred .fake/auth.json mode=400 content=${AUTH}`);

    await home.cleanup();
    await expect(stat(copy)).rejects.toMatchObject({ code: "ENOENT" });
    // The worker's own login is untouched.
    expect(await readFile(path.join(workerHome, ".fake/auth.json"), "utf8")).toBe(AUTH);
  });

  it("replaces what a run left in its place, and a file the operator cannot write over", async () => {
    const input = homeInput("again");
    await mkdir(path.join(input.home, ".fake"), { recursive: true });
    await writeFile(path.join(input.home, ".fake/auth.json"), "stale", { mode: 0o400 });
    const home = await prepareAgentHome(input);
    expect(await readFile(path.join(input.home, ".fake/auth.json"), "utf8")).toBe(AUTH);
    await home.cleanup();
  });

  it("refuses a file outside the worker's HOME before making anything", async () => {
    const outside = path.join(root, "elsewhere.json");
    await writeFile(outside, AUTH);
    const input = homeInput("outside", { credentials: [outside] });
    await expect(prepareAgentHome(input)).rejects.toThrow(
      new AgentCredentialsError(
        "DROVER_AGENT_CREDENTIALS names a file outside the worker's HOME (elsewhere.json); name files under it, as ~/.codex/auth.json",
      ),
    );
    await expect(stat(input.home)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("fails on a missing file, naming it and what to do, and leaves none of the others behind", async () => {
    const missing = path.join(workerHome, ".other/auth.json");
    const input = homeInput("missing", { credentials: [path.join(workerHome, ".fake/auth.json"), missing] });
    // Named from HOME: the message reaches the status comment, where the worker's paths do not belong.
    const error = await prepareAgentHome(input).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AgentCredentialsError);
    expect((error as Error).message).toBe(
      "DROVER_AGENT_CREDENTIALS names ~/.other/auth.json, which cannot be read on this worker (ENOENT): log in there as the worker's user, or take it out of the list",
    );
    await expect(stat(path.join(input.home, ".fake/auth.json"))).rejects.toMatchObject({ code: "ENOENT" });
  });
});

describe("prepareAgentHome: caches", () => {
  it("links each cache dir to the agent's shared cache, so a later run reads what an earlier one wrote", async () => {
    const first = homeInput("first", {
      cacheDirs: [".cache/fake", ".local/share/fake/packages"],
      credentials: [],
    });
    await prepareAgentHome(first);
    expect(await readlink(path.join(first.home, ".cache/fake"))).toBe(path.join(cacheRoot, ".cache/fake"));
    const wrote = await runIn(first.home, [
      "cache:.cache/fake",
      "cache:.local/share/fake/packages",
      "--mark=one",
    ]);
    expect(wrote.logTail).toContain("cache .cache/fake seen=none");

    const second = homeInput("second", {
      cacheDirs: [".cache/fake", ".local/share/fake/packages"],
      credentials: [],
    });
    await prepareAgentHome(second);
    const read = await runIn(second.home, [
      "cache:.cache/fake",
      "cache:.local/share/fake/packages",
      "--mark=two",
    ]);
    expect(read.logTail).toContain("cache .cache/fake seen=one");
    expect(read.logTail).toContain("cache .local/share/fake/packages seen=one");
  });

  it("keeps each agent's caches apart", async () => {
    const fake = homeInput("fake", { cacheDirs: [".cache/cli"], credentials: [] });
    await prepareAgentHome(fake);
    await runIn(fake.home, ["cache:.cache/cli", "--mark=fake's"]);

    const other = homeInput("other", {
      cacheDirs: [".cache/cli"],
      cacheRoot: path.join(root, "drover-home/agent-cache/other"),
      credentials: [],
    });
    await prepareAgentHome(other);
    expect((await runIn(other.home, ["cache:.cache/cli"])).logTail).toContain("cache .cache/cli seen=none");
  });

  it("never puts a credential file into a shared cache: a cache dir that would hold one stays the run's own", async () => {
    await mkdir(path.join(workerHome, ".local/share/fake"), { recursive: true });
    await writeFile(path.join(workerHome, ".local/share/fake/auth.json"), AUTH);
    const input = homeInput("overlap", {
      cacheDirs: [".local/share/fake", ".cache/fake"],
      credentials: [path.join(workerHome, ".local/share/fake/auth.json")],
    });
    const home = await prepareAgentHome(input);

    expect((await lstat(path.join(input.home, ".local/share/fake"))).isDirectory()).toBe(true);
    expect((await lstat(path.join(input.home, ".cache/fake"))).isSymbolicLink()).toBe(true);
    expect(await readFile(path.join(input.home, ".local/share/fake/auth.json"), "utf8")).toBe(AUTH);
    await expect(stat(path.join(cacheRoot, ".local/share/fake/auth.json"))).rejects.toMatchObject({
      code: "ENOENT",
    });
    await home.cleanup();
  });
});

// The CI machine runs as root; elsewhere switching users is impossible, and the test says so.
describe.runIf(process.getuid?.() === 0)("prepareAgentHome for DROVER_AGENT_USER", () => {
  it("hands the credential files and the caches to that user, who can read the one and write the other", async () => {
    const user = await resolveAgentUser("nobody");
    await chmod(workerHome, 0o700); // the worker's own HOME stays closed to the agent's user
    const input = homeInput("as-user", { cacheDirs: [".cache/fake"], runAs: user });
    const home = await prepareAgentHome(input);
    const copy = path.join(input.home, ".fake/auth.json");
    expect(await stat(copy)).toMatchObject({ uid: user.uid, gid: user.gid });
    expect((await stat(path.join(cacheRoot, ".cache/fake"))).uid).toBe(user.uid);

    const result = await runIn(
      input.home,
      ["cred:.fake/auth.json", "cache:.cache/fake", "--mark=nobody"],
      user,
    );
    expect(result.outcome).toBe("exited");
    expect(result.exitCode).toBe(0);
    expect(result.logTail).toContain("cred .fake/auth.json mode=400 content=");
    expect(await readFile(path.join(cacheRoot, ".cache/fake/seen"), "utf8")).toBe("nobody");
    await home.cleanup();
    await expect(stat(copy)).rejects.toMatchObject({ code: "ENOENT" });
  });
});
