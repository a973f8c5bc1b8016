import { describe, expect, it } from "vitest";
import { eventually, repoWithConfig, useStack } from "../helpers/stack.ts";

/**
 * A push that changes `.github/drover.yml` gets a `Drover config` check run on its commit, through the
 * sandbox with Drover's web and worker as their own processes: a broken file fails with the messages an
 * issue would get, a fixed one passes, and a push of other files gets none.
 */
const drover = useStack({ workers: 1 });

describe("the Drover config check run", () => {
  it("fails a pushed drover.yml that is wrong, passes it fixed, and leaves other pushes alone", async () => {
    const maintainer = drover.as("maintainer");
    const repo = await repoWithConfig(maintainer, "configured", "agent: codex\n");
    const runsOn = (sha: string) =>
      drover
        .stack()
        .sandbox.world.repo("acme", "configured")!
        .checkRuns.filter((run) => run.headSha === sha && run.name === "Drover config");
    const push = async (path: string, text: string, message: string) => {
      const { data: file } = await maintainer.rest.repos
        .getContent({ ...repo, path })
        .catch(() => ({ data: undefined }));
      const { data } = await maintainer.rest.repos.createOrUpdateFileContents({
        ...repo,
        path,
        message,
        content: Buffer.from(text).toString("base64"),
        ...(file && "sha" in file ? { sha: file.sha } : {}),
      });
      return data.commit.sha!;
    };

    const broken = await push(".github/drover.yml", "agnet: codex\nmax_workers: 0\n", "Try a typo");
    const failed = await eventually("a failing Drover config check on the broken commit", () => {
      const [run] = runsOn(broken);
      return run?.status === "completed" && run;
    });
    expect(failed.conclusion).toBe("failure");
    expect(failed.output.title).toBe(".github/drover.yml is not valid: 2 problems");
    expect(failed.output.summary).toContain("Drover did not start: `.github/drover.yml` is not valid.");
    expect(failed.output.summary).toContain('- `agnet` (got `"codex"`): is not a drover.yml key');

    const fixed = await push(".github/drover.yml", "agent: codex\nmax_workers: 3\n", "Fix the typo");
    const passed = await eventually("a passing Drover config check on the fixed commit", () => {
      const [run] = runsOn(fixed);
      return run?.status === "completed" && run;
    });
    expect(passed).toMatchObject({ conclusion: "success", output: { title: ".github/drover.yml is valid" } });
    expect(passed.output.summary).toContain("run by codex, 3 at a time");

    // A push of other files: followed as any push (its delivery processed), with no config check.
    const other = await push("README.md", "# configured\n", "Say what it is");
    await eventually("the README push to be followed", async () => {
      const [row] = await drover.database().sql<{ done: boolean }[]>`
        select processed_at is not null as done from deliveries
        where event = 'push' and body::jsonb->>'after' = ${other}`;
      return row?.done === true;
    });
    expect(runsOn(other)).toEqual([]);
    expect(runsOn(fixed)).toHaveLength(1);
  }, 60_000);
});
