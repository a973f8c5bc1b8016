import { describe, expect, it } from "vitest";
import { buildPlanPrompt } from "../../../../src/agent/plan-prompt.ts";
import { planFrom } from "../../../../jobs/plan/planner.ts";

const prompt = buildPlanPrompt({ repository: "acme/app", title: "Spec", body: "Build it.", files: [] });
const plan = [
  "```drover-plan",
  '[{"id": "T9", "kind": "task", "title": "The real work", "description": "", "priority": 5, "parent": null, "blocked_by": []}]',
  "```",
].join("\n");

describe("planFrom", () => {
  it("does not take the prompt's example, echoed in the output, for the agent's plan", () => {
    const read = planFrom({ finalMessage: "", logTail: `${prompt}\n\nthinking...\nI could not finish.` });
    expect(read).toEqual({
      ok: false,
      problems: [expect.stringContaining("the prompt's example (its instructions echoed)")],
    });
  });

  it("takes the agent's own plan from the output after the echoed prompt", () => {
    const read = planFrom({ finalMessage: "", logTail: `${prompt}\n\nHere is my plan:\n${plan}\n` });
    expect(read.ok && read.items.map((item) => item.title)).toEqual(["The real work"]);
  });

  it("prefers the final message to the output", () => {
    const read = planFrom({ finalMessage: `Done.\n${plan}`, logTail: prompt });
    expect(read.ok && read.items.map((item) => item.id)).toEqual(["T9"]);
  });

  it("says what is wrong with the final message's plan block, and reads the output when it only names one", () => {
    const broken = planFrom({ finalMessage: "```drover-plan\n[oops\n```", logTail: `${prompt}\n${plan}` });
    expect(broken).toEqual({ ok: false, problems: [expect.stringContaining("is not valid JSON")] });
    const named = planFrom({ finalMessage: "My plan is the ```drover-plan block above.", logTail: plan });
    expect(named.ok && named.items.map((item) => item.id)).toEqual(["T9"]);
  });
});
