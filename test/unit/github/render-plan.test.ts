import { describe, expect, it } from "vitest";
import type { BacklogItem } from "../../../src/graph/backlog.ts";
import {
  renderAccepted,
  renderPlanFailure,
  renderPlanTree,
  renderProposal,
} from "../../../src/github/render-plan.ts";

const item = (over: Partial<BacklogItem> & Pick<BacklogItem, "id" | "kind">): BacklogItem => ({
  title: `Title ${over.id}`,
  description: "",
  priority: null,
  parent: null,
  blockedBy: [],
  line: null,
  ...over,
});

const ITEMS: BacklogItem[] = [
  item({ id: "T0", kind: "task", title: "Loose task" }),
  item({ id: "E1", kind: "epic", priority: 9, description: "The whole thing" }),
  item({ id: "S1", kind: "story", parent: "E1", priority: 5 }),
  item({ id: "T1", kind: "task", parent: "S1", priority: 2, description: "First" }),
  item({ id: "T2", kind: "task", parent: "S1", blockedBy: ["T1", "T0"], description: "Second" }),
];

describe("renderPlanTree", () => {
  it("nests epics, stories and tasks in the agent's order, with priorities, descriptions and blockers", () => {
    expect(renderPlanTree(ITEMS)).toBe(
      [
        "- **task** `T0` Loose task",
        "- **epic** `E1` Title E1 · priority 9 (critical)\\",
        "  The whole thing",
        "  - **story** `S1` Title S1 · priority 5 (normal)",
        "    - **task** `T1` Title T1 · priority 2 (low)\\",
        "      First",
        "    - **task** `T2` Title T2\\",
        "      Second\\",
        "      blocked by `T1`, `T0`",
      ].join("\n"),
    );
  });

  it("shows an agent's text as text: no HTML, no mentions, no code spans or line breaks of its own", () => {
    const tree = renderPlanTree([
      item({
        id: "T1",
        kind: "task",
        title: "<img src=x> ping @octocat",
        description: "ends with \\ `code`",
      }),
    ]);
    expect(tree).toBe("- **task** `T1` &lt;img src=x&gt; ping @\u200boctocat\\\n  ends with \\\\ 'code'");
  });
});

describe("renderProposal", () => {
  it("counts what is proposed, says how to accept, and names discarded changes", () => {
    const body = renderProposal({
      items: ITEMS,
      by: "mona",
      label: "drover",
      discarded: ["a.txt", "README.md"],
    });
    expect(body).toMatch(/^### Drover: proposed plan \(1 epic, 1 story, 3 tasks\)\n/);
    expect(body).toContain("Asked for by @mona");
    expect(body).toContain(
      "The agent changed files in its read-only checkout (`a.txt`, `README.md`); planning changes nothing, so they were discarded.",
    );
    expect(body).toContain("`/drover plan accept`");
    expect(body).toContain("`/drover plan accept --no-label`");
    expect(body).toContain("labelled `drover`");
    expect(renderProposal({ items: ITEMS, by: "mona", label: "drover", discarded: [] })).not.toContain(
      "discarded",
    );
  });
});

describe("renderPlanFailure", () => {
  it("lists the problems and fences the agent's tail so it cannot break out", () => {
    const body = renderPlanFailure({
      what: "The agent (command) finished without a usable plan.",
      problems: ["the drover-plan block holds no items"],
      tail: "```\n</details> oops",
      discarded: [],
    });
    expect(body).toContain("- the drover-plan block holds no items");
    expect(body).toContain("````text\n```\n</details> oops\n````");
    expect(body).toContain("any earlier proposal stands");
  });
});

describe("renderAccepted", () => {
  it("lists what was created and found, and what was started", () => {
    const body = renderAccepted({
      created: [
        { title: "Epic", kind: "epic", number: 2, url: null, created: true },
        { title: "Task", kind: "task", number: 3, url: null, created: false },
      ],
      started: 1,
      left: 0,
      labelled: true,
      label: "drover",
    });
    expect(body).toBe(
      [
        "Plan accepted: 1 issue created, 1 found from an earlier accept, as sub-issues of this one.",
        "",
        "- epic #2 Epic",
        "- task #3 Task (already there)",
        "",
        "Tasks labelled `drover`: 1 started.",
      ].join("\n"),
    );
    expect(renderAccepted({ created: [], started: 0, left: 0, labelled: false, label: "drover" })).toContain(
      "not labelled (`--no-label`)",
    );
    expect(renderAccepted({ created: [], started: 0, left: 2, labelled: true, label: "drover" })).toContain(
      "Tasks labelled `drover`: 0 started, 2 started before and left as they are.",
    );
  });
});
