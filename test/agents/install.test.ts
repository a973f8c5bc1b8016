import { describe, expect, inject, it } from "vitest";

const clis = inject("agentClis");

describe.skipIf(!clis.installed)("the pinned agent CLIs", () => {
  it("are installed and answer --version at the pinned release", () => {
    expect(clis.installed && Object.keys(clis.versions).sort()).toEqual([
      "amp",
      "claude",
      "codex",
      "opencode",
    ]);
  });
});
