import { describe, expect, it } from "vitest";
import { exportArgs } from "../../../src/main/commands/export.ts";
import { importArgs, renderImport } from "../../../src/main/commands/import-jsonl.ts";
import { startControlId, taskNumbers } from "../../../src/main/start-tasks.ts";
import { backlogItem } from "../../helpers/backlog.ts";

describe("import-jsonl's arguments", () => {
  it("takes one file, --repo, --dry-run and --no-label", () => {
    expect(importArgs(["b.jsonl", "--repo", "acme/app"])).toEqual({
      file: "b.jsonl",
      repo: "acme/app",
      dryRun: false,
      label: true,
    });
    expect(importArgs(["--dry-run", "--no-label", "--repo", "acme/app", "b.jsonl"])).toEqual({
      file: "b.jsonl",
      repo: "acme/app",
      dryRun: true,
      label: false,
    });
  });

  it("refuses what it does not take, saying how it is used", () => {
    expect(importArgs(["--repo", "acme/app"])).toEqual({
      error: expect.stringMatching(/one file \(got none\); usage: drover import-jsonl <file>/),
    });
    expect(importArgs(["a", "b", "--repo", "acme/app"])).toEqual({
      error: expect.stringMatching(/one file \(got a b\)/),
    });
    expect(importArgs(["a"])).toEqual({
      error: expect.stringMatching(/^import-jsonl needs --repo owner\/name; usage/),
    });
    expect(importArgs(["a", "--repo", "acme"])).toEqual({
      error: '--repo "acme" is not a repository; use owner/name',
    });
    expect(importArgs(["a", "--repo", "acme/app", "--force"])).toEqual({
      error: expect.stringMatching(/^import-jsonl: Unknown option '--force'.*usage: drover import-jsonl/),
    });
  });
});

describe("starting imported tasks", () => {
  it("uses one control id per repository and issue, whatever the case of the name, that the job catalog accepts", () => {
    const id = startControlId("Acme/App", 12);
    expect(id).toBe(startControlId("acme/app", 12));
    expect(id).not.toBe(startControlId("acme/app", 13));
    expect(id).not.toBe(startControlId("acme/other", 12));
    expect(id).toMatch(/^(dashboard|operator)-[\w-]{8,64}$/);
  });

  it("starts only open Drover tasks: not epics or stories, not closed ones, not plain issues", () => {
    const item = backlogItem;
    const items = [
      item("E", { kind: "epic" }),
      item("OPEN", {}),
      item("SAID-OPEN", { state: "open" }),
      item("DONE", { state: "closed" }),
      item("DROPPED", { state: "not_planned" }),
      item("PLAIN", { drover: false }),
    ];
    const result = {
      created: 6,
      reused: 0,
      linked: 0,
      items: items.map((it, i) => ({ id: it.id, number: i + 1, created: true, url: null })),
    };
    expect(taskNumbers(items, result)).toEqual([2, 3]);
  });
});

describe("the import's summary", () => {
  const result = {
    created: 1,
    reused: 1,
    linked: 2,
    items: [
      { id: "EPIC-1", number: 3, created: false, url: "https://github.com/acme/app/issues/3" },
      { id: "TASK-1", number: 4, created: true, url: "https://github.com/acme/app/issues/4" },
    ],
  };
  it("says what was made and lists each item's issue", () => {
    expect(renderImport(result, false)).toBe(
      "Created 1, already there 1, links added 2\n" +
        "  EPIC-1  #3  already there  https://github.com/acme/app/issues/3\n" +
        "  TASK-1  #4  created  https://github.com/acme/app/issues/4\n",
    );
  });
  it("in a dry run past GitHub's hourly writes, says the import will wait or stop there and a rerun goes on", () => {
    const big = { ...result, created: 300, linked: 250, items: [] };
    expect(renderImport(big, true)).toMatch(
      /^Dry run, nothing written: would create 300, already there 1, links to add 250 \(550 writes: GitHub allows an installation 500 an hour, .*running it again goes on where it stopped\)\n/,
    );
    expect(renderImport(big, false)).toMatch(/^Created 300, already there 1, links added 250\n/);
  });
  it("in a dry run, says nothing was written and what would be", () => {
    const dry = { ...result, items: [{ id: "TASK-1", number: null, created: true, url: null }] };
    expect(renderImport(dry, true)).toBe(
      "Dry run, nothing written: would create 1, already there 1, links to add 2\n  TASK-1  (new)  would be created\n",
    );
  });
});

describe("export's arguments", () => {
  it("takes --repo, --format jsonl|json and --out", () => {
    expect(exportArgs(["--repo", "acme/app"])).toEqual({ repo: "acme/app", format: "jsonl", out: null });
    expect(exportArgs(["--repo", "acme/app", "--format", "json", "--out", "x.json"])).toEqual({
      repo: "acme/app",
      format: "json",
      out: "x.json",
    });
  });
  it("refuses the rest", () => {
    expect(exportArgs([])).toEqual({ error: expect.stringMatching(/^export needs --repo owner\/name/) });
    expect(exportArgs(["--repo", "acme/app", "--format", "csv"])).toEqual({
      error: '--format must be jsonl or json (got "csv")',
    });
    expect(exportArgs(["--repo", "acme/app", "extra"])).toEqual({
      error: expect.stringMatching(/^export: Unexpected argument 'extra'/),
    });
  });
});
