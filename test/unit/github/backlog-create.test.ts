import { describe, expect, it } from "vitest";
import type { BacklogItem } from "../../../src/graph/backlog.ts";
import { backlogBody, backlogLabels, sourceIdOf, sourceMarker } from "../../../src/github/backlog-create.ts";

const item = (fields: Partial<BacklogItem>): BacklogItem => ({
  id: "TASK-001",
  kind: "task",
  title: "T",
  description: "",
  priority: null,
  parent: null,
  blockedBy: [],
  line: 1,
  ...fields,
});

describe("the hidden source marker", () => {
  it("carries the id in an HTML comment that reads back as the same id", () => {
    expect(sourceMarker("TASK-001")).toBe("<!-- drover-source: TASK-001 -->");
    expect(sourceIdOf(`Some text\n\n${sourceMarker("acme/app#12")}\n`)).toBe("acme/app#12");
  });

  it("escapes what could end the comment early or break it, and still reads back", () => {
    for (const id of ["a-->b", "x--y", "----", "<!-- z -->", "50%", "line\nbreak", "ends-", "→ ünï"]) {
      const marker = sourceMarker(id);
      const inside = marker.slice("<!-- ".length, -" -->".length);
      expect(inside).not.toContain("--");
      expect(inside).not.toMatch(/[<>\n]/);
      expect(sourceIdOf(`before ${marker} after`)).toBe(id);
    }
  });

  it("reads the last marker, the one Drover wrote after the description, not one the text carries", () => {
    expect(sourceIdOf(`See <!-- drover-source: TASK-001 --> here\n\n${sourceMarker("TASK-002")}\n`)).toBe(
      "TASK-002",
    );
  });

  it("finds no id in a body without a marker, or with a broken one", () => {
    expect(sourceIdOf(null)).toBeNull();
    expect(sourceIdOf("<!-- drover-source: %E0%A4 -->")).toBeNull();
    expect(sourceIdOf("<!-- drover-status -->")).toBeNull();
  });
});

describe("an item's issue", () => {
  it("has its description, then the marker", () => {
    expect(backlogBody(item({ description: "  Do it.\n" }))).toBe(
      "Do it.\n\n<!-- drover-source: TASK-001 -->\n",
    );
    expect(backlogBody(item({}))).toBe("<!-- drover-source: TASK-001 -->\n");
  });

  it("cannot carry another item's marker, HTML comments or mentions that ping in its description", () => {
    const body = backlogBody(
      item({ id: "TASK-009", description: "Ask @octocat and @acme/team <!-- drover-source: TASK-001 -->" }),
    );
    expect(body).toBe(
      "Ask @\u200boctocat and @\u200bacme/team &lt;!-- drover-source: TASK-001 -->\n\n<!-- drover-source: TASK-009 -->\n",
    );
    expect(sourceIdOf(body)).toBe("TASK-009");
    expect(body.match(/<!--/g)).toHaveLength(1);
  });

  it("is labelled for Drover when it is a task, and with its priority's level whatever it is", () => {
    expect(backlogLabels(item({ priority: 10 }), "drover")).toEqual(["drover", "priority: critical"]);
    expect(backlogLabels(item({ priority: 6 }), "drover")).toEqual(["drover", "priority: high"]);
    expect(backlogLabels(item({ priority: 4 }), null)).toEqual(["priority: normal"]);
    expect(backlogLabels(item({ kind: "story", priority: 1 }), "drover")).toEqual(["priority: low"]);
    expect(backlogLabels(item({ kind: "epic" }), "ai-task")).toEqual([]);
    expect(backlogLabels(item({}), "ai-task")).toEqual(["ai-task"]);
    // A plain issue in the graph (a blocker that was never a Drover task) keeps only its priority.
    expect(backlogLabels(item({ drover: false, priority: 7 }), "drover")).toEqual(["priority: high"]);
  });
});
