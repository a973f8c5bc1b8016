import { describe, expect, it } from "vitest";
import {
  packageCacheEnv,
  publicText,
  setupFailureReason,
  setupLogTail,
  type SetupResult,
} from "../../../src/agent/setup.ts";

const failedRun = (over: Partial<SetupResult>): SetupResult => ({
  command: "npm ci",
  outcome: "failed",
  exitCode: 1,
  durationMs: 1200,
  outputTail: "npm ERR! code E404\nnpm ERR! 404 Not Found - left-pad\n",
  ok: false,
  ...over,
});

describe("setupFailureReason", () => {
  it("names the command, its exit code and the last line it printed", () => {
    const reason = setupFailureReason(failedRun({}), 1_200_000);
    expect(reason).toBe(
      "the repository's setup `npm ci` failed with exit code 1, so no agent ran; its output ends: `npm ERR! 404 Not Found - left-pad`",
    );
  });

  it("says a setup timed out, and after how long", () => {
    const reason = setupFailureReason(failedRun({ outcome: "timed-out", exitCode: null }), 90_000);
    expect(reason).toContain("setup `npm ci` timed out after 90s");
  });

  it("says a setup printed nothing", () => {
    expect(setupFailureReason(failedRun({ outputTail: "\n" }), 60_000)).toContain("it printed nothing");
  });
});

describe("setupLogTail", () => {
  it("keeps only the last lines of a long output", () => {
    const lines = Array.from({ length: 200 }, (_, i) => `line ${i}`).join("\n");
    const tail = setupLogTail(failedRun({ outputTail: lines }));
    expect(tail).toContain("line 199");
    expect(tail).not.toContain("line 100\n");
  });
});

describe("publicText", () => {
  it("shows the worker's paths as relative ones", () => {
    const paths = {
      worktree: "/srv/drover/pool/octo/widgets/0a1b2c3d",
      home: "/srv/drover",
      workerHome: "/home/w",
    };
    const text =
      "/srv/drover/pool/octo/widgets/0a1b2c3d/src/a.ts: error\n" +
      "cache at /srv/drover/cache/octo/widgets/npm\nsee /home/w/.npm/_logs\nin /srv/drover/pool/octo/widgets/0a1b2c3d";
    const shown = publicText(text, paths);
    expect(shown).toBe(
      "./src/a.ts: error\ncache at <drover-home>/cache/octo/widgets/npm\nsee ~/.npm/_logs\nin .",
    );
  });
});

describe("packageCacheEnv", () => {
  it("points every package manager's cache into the repository's cache directory", () => {
    const env = packageCacheEnv("/srv/drover", "octo/widgets");
    expect(env.npm_config_cache).toBe("/srv/drover/cache/octo/widgets/npm");
    expect(env.PIP_CACHE_DIR).toBe("/srv/drover/cache/octo/widgets/pip");
    expect(env.GOMODCACHE).toBe("/srv/drover/cache/octo/widgets/go/mod");
    for (const value of Object.values(env))
      expect(value.startsWith("/srv/drover/cache/octo/widgets/")).toBe(true);
  });

  it("refuses a repository name that would step outside DROVER_HOME", () => {
    expect(() => packageCacheEnv("/srv/drover", "../x")).toThrow("invalid repository name");
  });
});
