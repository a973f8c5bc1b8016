import { describe, expect, it } from "vitest";
import { readSpecArgs } from "../../../src/main/commands/spec.ts";

describe("drover spec arguments", () => {
  it("reads the spec, the repository and the options", () => {
    expect(readSpecArgs(["docs/a.md", "--repo", "acme/app"])).toEqual({
      path: "docs/a.md",
      repo: "acme/app",
      dryRun: false,
      label: true,
      out: undefined,
      agent: undefined,
      agentCommand: undefined,
    });
    expect(
      readSpecArgs([
        "a.md",
        "--repo=acme/app",
        "--dry-run",
        "--no-label",
        "--out",
        "plan.jsonl",
        "--agent",
        "command",
        "--agent-command",
        "node 'my agent.mjs'",
      ]),
    ).toMatchObject({
      dryRun: true,
      label: false,
      out: "plan.jsonl",
      agent: "command",
      agentCommand: ["node", "my agent.mjs"],
    });
  });

  it.each([
    [["--repo", "acme/app"], "name the spec file"],
    [["a.md", "b.md", "--repo", "acme/app"], "one spec file, not 2"],
    [["a.md"], "--repo owner/name is required"],
    [["a.md", "--repo", "acme"], "--repo acme is not owner/name"],
    [["a.md", "--repo", "acme/app", "--force"], "Unknown option '--force'"],
    [["a.md", "--repo", "acme/app", "--agent-command", "node 'open"], "--agent-command:"],
  ])("says what is wrong with %j", (args, problem) => {
    const read = readSpecArgs(args);
    expect("problem" in read ? read.problem : "").toContain(problem);
  });
});
