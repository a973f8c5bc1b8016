import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { DroverConfig } from "../../../src/config/schema.ts";
import { upsertRepository } from "../../../src/db/repositories.ts";
import { triggerTask } from "../../../src/db/tasks.ts";
import { listSlots } from "../../../src/git/pool-slots.ts";
import { strayFiles } from "../../../src/git/pool.ts";
import { useDrover } from "../../helpers/drover.ts";
import { git } from "../../helpers/git-sandbox.ts";
import { mockInstallationToken } from "../../helpers/github.ts";
import { OCTO_REPO, pushed, type TestRepo } from "../../helpers/payloads.ts";
import { taskTrigger } from "../../helpers/tasks.ts";

/**
 * The warm-pool job with the real pool (src/git/pool.ts): ready worktrees made in the background with the
 * repository's setup run, moved along when the base branch is pushed, setup not run again while the
 * lockfiles stay the same.
 */
describe("warm-pool with the worktree pool", () => {
  const { db, harness, sandbox, github } = useDrover({ warmPool: true });

  it("makes pool.min ready worktrees with setup run, and moves them to a pushed base without running it again", async () => {
    const repo: TestRepo = {
      ...OCTO_REPO,
      id: 5201,
      fullName: "octo-org/pooled",
      cloneUrl: sandbox().origin,
    };
    await upsertRepository(db(), {
      id: repo.id,
      installationId: repo.installationId,
      fullName: repo.fullName,
      cloneUrl: repo.cloneUrl,
      defaultBranch: repo.defaultBranch,
    });
    mockInstallationToken(github.api().persist(), repo.installationId);
    const counter = path.join(sandbox().root, "pool-setup-runs.txt");
    const config = DroverConfig.parse({
      setup: `echo run >> ${counter} && mkdir -p node_modules && echo ok > node_modules/dep.js`,
      pool: { min: 2, max: 3 },
    });
    await triggerTask(db(), taskTrigger(1, { repoId: repo.id, config }));

    await harness().enqueue("warm-pool", { repoId: repo.id, cause: `start-${repo.id}` });
    await harness().drain();

    const runs = async () => (await readFile(counter, "utf8")).trim().split("\n").length;
    const ready = async () =>
      (await listSlots(sandbox().home, repo.fullName)).filter((s) => s.meta && !s.claim);
    expect(await ready()).toHaveLength(2);
    expect(await runs()).toBe(2);
    const tip = await git(sandbox().origin, "rev-parse", "main");
    for (const slot of await ready()) {
      expect(slot.meta).toMatchObject({ sha: tip, setupOk: true });
      expect(await git(slot.path, "rev-parse", "HEAD")).toBe(tip);
    }

    const moved = await sandbox().commitToOrigin("CHANGE.md", "a change\n");
    await harness().receive("push", pushed({ repo, ref: "refs/heads/main", after: moved, before: tip }));
    await harness().drain();

    const after = await ready();
    expect(after).toHaveLength(2);
    for (const slot of after) {
      expect(slot.meta?.sha).toBe(moved);
      expect(await git(slot.path, "rev-parse", "HEAD")).toBe(moved);
      expect(await strayFiles(slot.path)).toEqual([]);
    }
    expect(await runs()).toBe(2);
  });
});
