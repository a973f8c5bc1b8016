import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const CLI = new URL("../../src/main/cli.ts", import.meta.url).pathname;
// Resolved here: the command runs in a checkout of its own, with no node_modules to find tsx in.
const TSX = import.meta.resolve("tsx");

/** `drover config check [path]` as a person runs it in a checkout, before pushing a drover.yml. */
// Each `drover` started loads TypeScript through tsx: seconds apiece on a busy machine.
describe("drover config check", { timeout: 120_000 }, () => {
  let checkout: string;
  beforeAll(async () => {
    checkout = await mkdtemp(path.join(os.tmpdir(), "drover-config-check-"));
  });
  afterAll(async () => {
    await rm(checkout, { recursive: true, force: true });
  });

  const drover = (args: string[]) =>
    execa(process.execPath, ["--import", TSX, CLI, ...args], { cwd: checkout, reject: false });

  it("checks .github/drover.yml by default: defaults without one, 0 when valid, 1 with the app's messages", async () => {
    const none = await drover(["config", "check"]);
    expect(none.exitCode).toBe(0);
    expect(none.stdout).toBe("No .github/drover.yml here: Drover uses its defaults for this repository.");

    await mkdir(path.join(checkout, ".github"), { recursive: true });
    await writeFile(path.join(checkout, ".github", "drover.yml"), "agent: codex\ncheck_timeout: 5m\n");
    const valid = await drover(["config", "check"]);
    expect(valid.exitCode).toBe(0);
    expect(valid.stdout).toContain(
      "`.github/drover.yml` is valid: tasks are issues labelled `drover`, run by codex",
    );

    await writeFile(path.join(checkout, "proposed.yml"), "label: ship-it\ntask_timeout: forever\n");
    const invalid = await drover(["config", "check", "proposed.yml"]);
    expect(invalid.exitCode).toBe(1);
    expect(invalid.stdout).toContain("Drover did not start: `proposed.yml` is not valid.");
    expect(invalid.stdout).toContain('- `task_timeout` (got `"forever"`)');
  });

  it("exits 2 for a named file that is not there, and refuses what it does not take", async () => {
    const missing = await drover(["config", "check", "nowhere.yml"]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toBe("drover: no file at nowhere.yml");
    const unknown = await drover(["config", "lint"]);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toContain('unknown config subcommand "lint": drover config check [path]');
    const flags = await drover(["config", "check", "--strict"]);
    expect(flags.exitCode).toBe(1);
    expect(flags.stderr).toContain("config check takes one path at most");
  });
});
