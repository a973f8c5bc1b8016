import { mkdir, stat, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import { eq } from "drizzle-orm";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureMirror } from "../../src/git/mirror.ts";
import { newSlotId, poolDir, takeClaim, writeSlotMeta } from "../../src/git/pool-slots.ts";
import { runGit } from "../../src/git/run-git.ts";
import { setInstallationStatus, upsertInstallation, upsertRepository } from "../../src/db/repositories.ts";
import { repositories } from "../../src/db/schema.ts";
import { useTestDatabase } from "../helpers/db.ts";
import { makeMirrorSandbox, type GitSandbox } from "../helpers/git-sandbox.ts";
import { OCTO_REPO } from "../helpers/payloads.ts";
import { claimedTask } from "../helpers/tasks.ts";

const CLI = new URL("../../src/main/cli.ts", import.meta.url).pathname;
const DAY = 86_400_000;

/**
 * `drover worktree prune [--all]` as an operator runs it, on a DROVER_HOME with real mirrors and worktrees
 * and a database saying which repositories Drover is installed on and which attempts run.
 */
// Each `drover` started loads TypeScript through tsx: seconds apiece on a busy machine.
describe("drover worktree prune", { timeout: 120_000 }, () => {
  const testDb = useTestDatabase();
  const db = () => testDb.database().db;
  let box: GitSandbox;
  let runningRun: string;
  let claimedSlot: string;

  function drover(args: string[], env: Record<string, string> = {}) {
    return execa(process.execPath, ["--import", "tsx", CLI, ...args], {
      reject: false,
      env: { DATABASE_URL: testDb.url(), DROVER_HOME: box.home, ...env },
    });
  }

  const present = (p: string) =>
    stat(path.join(box.home, p)).then(
      () => true,
      () => false,
    );

  async function makeSlot(repo: string, bytes: number): Promise<string> {
    const id = newSlotId();
    const dir = path.join(poolDir(box.home, repo), id);
    await runGit(["worktree", "add", "--quiet", "--detach", dir, "main"], {
      cwd: path.join(box.home, "mirrors", `${repo}.git`),
    });
    await writeFile(path.join(dir, "deps.bin"), Buffer.alloc(bytes));
    const at = new Date(Date.now() - DAY).toISOString();
    const sha = await runGit(["rev-parse", "HEAD"], { cwd: dir });
    await writeSlotMeta(box.home, repo, id, {
      base: "main",
      sha,
      setupKey: null,
      setupOk: true,
      createdAt: at,
      lastUsedAt: at,
    });
    return `pool/${repo}/${id}`;
  }

  async function makeRun(name: string, daysAgo: number): Promise<void> {
    const dir = path.join(box.home, "runs", name);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, "agent.log"), "log\n".repeat(1000));
    const at = new Date(Date.now() - daysAgo * DAY);
    await utimes(path.join(dir, "agent.log"), at, at);
    await utimes(dir, at, at);
  }

  beforeAll(async () => {
    ({ box } = await makeMirrorSandbox("ghs_TOKEN"));
    // octo/widgets: installed, with an attempt running. octo/gone: the app was taken off it. acme/tools:
    // its installation is suspended.
    await upsertInstallation(db(), {
      id: OCTO_REPO.installationId,
      accountLogin: "octo",
      accountType: "Organization",
    });
    await upsertInstallation(db(), { id: 88, accountLogin: "acme", accountType: "Organization" });
    await setInstallationStatus(db(), 88, "suspended");
    await upsertRepository(db(), { ...OCTO_REPO, fullName: "octo/widgets" });
    await upsertRepository(db(), { ...OCTO_REPO, id: 5151, fullName: "octo/gone" });
    await db().update(repositories).set({ removedAt: new Date() }).where(eq(repositories.id, 5151));
    await upsertRepository(db(), { ...OCTO_REPO, id: 6161, installationId: 88, fullName: "acme/tools" });
    const { lease } = await claimedTask(db(), 12, "worker-1");
    runningRun = `${OCTO_REPO.id}-12-1-${lease.epoch}`;

    for (const repo of ["octo/gone", "acme/tools"])
      await ensureMirror({ home: box.home, repoFullName: repo, cloneUrl: box.origin });
    claimedSlot = await makeSlot("octo/widgets", 2_000_000);
    expect(
      await takeClaim(box.home, "octo/widgets", claimedSlot.split("/").pop()!, `attempt ${runningRun}`),
    ).toBe(true);
    await makeSlot("octo/widgets", 1000);
    await makeSlot("octo/gone", 1000);
    await makeRun(`${OCTO_REPO.id}-11-1-1`, 8);
    await makeRun(`${OCTO_REPO.id}-10-2-1`, 1);
    await makeRun(runningRun, 30);
    await mkdir(path.join(box.home, "cache", "acme", "tools", "npm"), { recursive: true });
    await mkdir(path.join(box.home, "cache", "octo", "widgets", "npm"), { recursive: true });
  });
  afterAll(async () => {
    await box?.cleanup();
  });

  it("removes old runs, then meets the budget, then with --all everything idle; a claimed worktree never", async () => {
    const plain = await drover(["worktree", "prune"]);
    expect(plain.stderr).toBe("");
    expect(plain.exitCode).toBe(0);
    expect(plain.stdout).toMatch(new RegExp(`^removed runs/${OCTO_REPO.id}-11-1-1 \\(4 KB\\)$`, "m"));
    expect(plain.stdout).toMatch(/^removed 1 run directory \(4 KB\); DROVER_HOME now [\d.]+ [KM]B$/m);
    expect(plain.stdout).not.toContain(box.home);
    expect(await present(`runs/${runningRun}`)).toBe(true);

    // 1 MB allowed: the mirrors of the repositories Drover left go (with their pools and caches) and the
    // idle worktree; the claimed one (2 MB) keeps DROVER_HOME over, which it says.
    const budget = await drover(["worktree", "prune"], { DROVER_DISK_BUDGET: "1MB" });
    expect(budget.exitCode).toBe(0);
    expect(budget.stdout).toContain("removed mirrors/octo/gone.git (");
    expect(budget.stdout).toContain("removed mirrors/acme/tools.git (");
    expect(budget.stdout).toMatch(
      /removed 2 pooled worktrees \(.+\), 2 mirrors of repositories Drover left \(.+\), 1 run directory/,
    );
    expect(budget.stdout).toMatch(/DROVER_HOME now 2(\.\d)? MB of 1 MB$/m);
    expect(budget.stderr).toMatch(
      /^drover: DROVER_HOME still holds 2(\.\d)? MB, over DROVER_DISK_BUDGET \(1 MB\)/,
    );
    for (const gone of [
      "mirrors/octo/gone.git",
      "mirrors/acme/tools.git",
      "pool/octo/gone",
      "cache/acme/tools",
    ])
      expect(await present(gone)).toBe(false);
    expect(await present("mirrors/octo/widgets.git")).toBe(true);
    expect(await present(claimedSlot)).toBe(true);
    expect(await present(`runs/${runningRun}`)).toBe(true);

    const all = await drover(["worktree", "prune", "--all"]);
    expect(all.exitCode).toBe(0);
    expect(all.stdout).toContain(`skipped ${claimedSlot}: claimed by a live process (attempt ${runningRun})`);
    expect(all.stdout).toContain(`skipped runs/${runningRun}: its attempt is running`);
    expect(all.stdout).toContain(
      "skipped 1 pooled worktree, 1 run directory, 1 package cache (why above): a claimed worktree or a running attempt's directory is never removed",
    );
    expect(await present(claimedSlot)).toBe(true);
    expect(await present("mirrors/octo/widgets.git")).toBe(true);
  });

  it("refuses arguments it does not know, saying what it takes", async () => {
    const unknown = await drover(["worktree", "prune", "--everything"]);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toBe(
      "drover: worktree prune: Unknown option '--everything'; usage: drover worktree prune [--all]",
    );
    const missing = await drover(["worktree"]);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toBe("drover: worktree needs a subcommand: drover worktree prune [--all]");
    const other = await drover(["worktree", "add"]);
    expect(other.stderr).toBe('drover: unknown worktree subcommand "add": drover worktree prune [--all]');
  });
});
