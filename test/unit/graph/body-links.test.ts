import { describe, expect, it } from "vitest";
import { parseBodyLinks } from "../../../src/graph/body-links.ts";

const here = { repoFullName: "Owner/Repo" };
const blockers = (body: string) => parseBodyLinks(body, here).blockers;

describe("blockers written in the body", () => {
  it.each([
    ["Blocked by #12", ["owner/repo#12"]],
    ["blocked by: #12", ["owner/repo#12"]],
    ["This is BLOCKED  BY #12.", ["owner/repo#12"]],
    ["Depends on #12, #13 and #14", ["owner/repo#12", "owner/repo#13", "owner/repo#14"]],
    ["depends on #12 & #13; #14 for the schema #15", ["owner/repo#12", "owner/repo#13", "owner/repo#14"]],
    ["blocked by owner/other#45", ["owner/other#45"]],
    ["depends on https://github.com/Owner/Other/issues/45", ["owner/other#45"]],
    [
      "depends on https://github.com/owner/other/issues/45#issuecomment-1, #3",
      ["owner/other#45", "owner/repo#3"],
    ],
    ["**Blocked by:** [#7](https://github.com/owner/repo/issues/7)", ["owner/repo#7"]],
    ["Blocked by #1\nDepends on #2\nblocked by #1", ["owner/repo#1", "owner/repo#2"]],
  ])("%j", (body, expected) => {
    expect(blockers(body)).toEqual(expected);
  });

  it("reads a task list under a heading or a line, checked or not", () => {
    const body = [
      "Some intro.",
      "",
      "## Blocked by",
      "",
      "- [ ] #12",
      "- [x] owner/other#3 the API",
      "* [ ] https://github.com/owner/repo/issues/20",
      "",
      "Depends on:",
      "1. #30",
      "Notes:",
      "- #40 is related, not a blocker",
    ].join("\n");
    expect(blockers(body)).toEqual(["owner/repo#12", "owner/other#3", "owner/repo#20", "owner/repo#30"]);
  });

  it("ignores code blocks, inline code and HTML comments", () => {
    const body = [
      "```",
      "Blocked by #1",
      "```",
      "~~~~md",
      "depends on #2",
      "```",
      "~~~~",
      "Say `blocked by #3` to link.",
      "<!-- blocked by #4",
      "depends on #5 -->",
      "Blocked by #6",
    ].join("\n");
    expect(blockers(body)).toEqual(["owner/repo#6"]);
  });

  it("does not read other words or mentions", () => {
    expect(blockers("unblocked by #1; see #2; blocked-by #3; fixes #4")).toEqual([]);
  });

  it("says what looked like a blocker but named none", () => {
    expect(
      parseBodyLinks("Blocked by the API work.\n## Blocked by\n- [ ] the design\n- [ ] #0", here),
    ).toEqual({
      blockers: [],
      problems: [
        'Line 1: "Blocked by" is not followed by an issue reference.',
        'Line 3: an item under "Blocked by" names no issue.',
        'Line 4: "#0" is not an issue number.',
      ],
    });
  });
});
