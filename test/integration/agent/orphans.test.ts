import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { stopOrphans } from "../../../src/agent/orphans.ts";

/** A process group as an agent leaves it: a leader that outlived its worker, and a child of its own. */
function orphanGroup(): { pid: number; exited: Promise<unknown> } {
  const leader = spawn("/bin/sh", ["-c", "sleep 30 & wait"], { detached: true, stdio: "ignore" });
  const exited = new Promise((resolve) => leader.once("exit", (_code, signal) => resolve(signal)));
  if (leader.pid === undefined) throw new Error("no pid");
  return { pid: leader.pid, exited };
}

describe("stopOrphans", () => {
  it("kills the process groups started on this host, and leaves those of other hosts", async () => {
    const here = orphanGroup();
    const elsewhere = orphanGroup();
    try {
      const stopped = stopOrphans(
        [
          { host: "this-host", pid: here.pid },
          { host: "other-host", pid: elsewhere.pid },
        ],
        "this-host",
      );
      expect(stopped).toEqual([{ host: "this-host", pid: here.pid }]);
      expect(await here.exited).toBe("SIGKILL");
    } finally {
      process.kill(-elsewhere.pid, "SIGKILL");
    }
    // Still running until its own kill above: it was not stopped by stopOrphans.
    expect(await elsewhere.exited).toBe("SIGKILL");
  });

  it("skips an agent that is already gone", () => {
    expect(stopOrphans([{ host: "h", pid: 2 ** 22 + 1 }], "h")).toEqual([]);
  });
});
