import { describe, expect, it } from "vitest";
import type { NotifyTarget } from "../../../src/config/notify.ts";
import { DroverConfig } from "../../../src/config/schema.ts";
import { eventTargets } from "../../../src/scheduler/notifier.ts";

const ENV: NotifyTarget[] = [
  { url: "https://ops.example.com/hook", events: ["task.failed"], format: "json" },
];
const config = (notify: NotifyTarget[]) => ({ ...DroverConfig.parse({}), notify });

describe("eventTargets", () => {
  it("gives an event to the deployment's targets and its own task's, each that wants its type", () => {
    const own: NotifyTarget = { url: "https://team.example.com/hook", events: ["task"], format: "slack" };
    expect(eventTargets({ type: "task.failed" }, config([own]), ENV)).toEqual([ENV[0], own]);
    expect(eventTargets({ type: "task.started" }, config([own]), ENV)).toEqual([own]);
    expect(eventTargets({ type: "pr.merged" }, config([own]), ENV)).toEqual([]);
  });

  it("counts the same url and format once, wherever it is named", () => {
    const same = { ...ENV[0]!, events: ["task"] };
    expect(eventTargets({ type: "task.failed" }, config([same]), ENV)).toEqual([ENV[0]]);
  });

  it("gives an event of no task, or of a task whose config cannot be read, to the deployment's only", () => {
    expect(eventTargets({ type: "task.failed" }, null, ENV)).toEqual(ENV);
    expect(eventTargets({ type: "task.failed" }, { notify: "garbled", agent: 7 }, ENV)).toEqual(ENV);
  });
});
