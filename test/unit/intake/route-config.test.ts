import { describe, expect, it } from "vitest";
import { configChange, routeWebhook } from "../../../src/intake/route.ts";
import { configCheckRun } from "../../../src/github/config-check.ts";
import { parseConfig } from "../../../src/config/parse.ts";
import { pushed } from "../../helpers/payloads.ts";

const SHA = "d".repeat(40);
const commit = (files: { added?: string[]; modified?: string[]; removed?: string[] }) => ({
  added: [],
  modified: [],
  removed: [],
  ...files,
});
const push = (commits: ReturnType<typeof commit>[]) => ({
  ...pushed({ ref: "refs/heads/main", after: SHA }),
  commits,
});

describe("a push that changes .github/drover.yml", () => {
  it("is checked (a `Drover config` check run) as well as followed; other pushes are only followed", () => {
    const changed = push([commit({ modified: ["README.md"] }), commit({ modified: [".github/drover.yml"] })]);
    expect(routeWebhook("push", changed)).toMatchObject({ jobs: ["follow-base", "config-check"] });
    expect(routeWebhook("push", push([commit({ added: [".github/drover.yml"] })]))).toMatchObject({
      jobs: ["follow-base", "config-check"],
    });
    expect(
      routeWebhook("push", push([commit({ modified: ["drover.yml", "docs/.github/drover.yml"] })])),
    ).toMatchObject({
      jobs: ["follow-base"],
    });
    expect(routeWebhook("push", pushed({ ref: "refs/heads/main", after: SHA }))).toMatchObject({
      jobs: ["follow-base"],
    });
  });

  it("goes by the last commit that touched the file: removed, or put back", () => {
    const removed = push([
      commit({ modified: [".github/drover.yml"] }),
      commit({ removed: [".github/drover.yml"] }),
    ]);
    expect(configChange(removed)).toBe("removed");
    const back = push([
      commit({ removed: [".github/drover.yml"] }),
      commit({ added: [".github/drover.yml"] }),
    ]);
    expect(configChange(back)).toBe("changed");
    expect(configChange(push([]))).toBeNull();
  });
});

describe("the `Drover config` check run", () => {
  it("passes a valid file, saying what Drover will do with it", () => {
    expect(configCheckRun(parseConfig({ agent: "codex" }), ".github/drover.yml")).toEqual({
      conclusion: "success",
      title: ".github/drover.yml is valid",
      summary:
        "`.github/drover.yml` is valid: tasks are issues labelled `drover`, run by codex, 2 at a time, 0 checks after each.\n",
    });
  });

  it("fails a bad one with the messages an issue would get, counting the problems", () => {
    const check = configCheckRun(parseConfig({ agnet: "claude", max_workers: 0 }), ".github/drover.yml");
    expect(check.conclusion).toBe("failure");
    expect(check.title).toBe(".github/drover.yml is not valid: 2 problems");
    expect(check.summary).toContain("Drover did not start: `.github/drover.yml` is not valid.");
    expect(check.summary).toContain('- `agnet` (got `"claude"`): is not a drover.yml key');
  });

  it("passes a removed file: the repository is back on the defaults", () => {
    expect(configCheckRun(null, ".github/drover.yml")).toMatchObject({
      conclusion: "success",
      title: "No .github/drover.yml: Drover uses its defaults",
    });
  });
});
