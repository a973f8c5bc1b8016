import { describe, expect, it } from "vitest";
import { agentEnvironment } from "../../../src/agent/env.ts";

const source = {
  PATH: "/usr/bin:/bin",
  HOME: "/home/drover",
  LANG: "C.UTF-8",
  TZ: "UTC",
  PRIVATE_KEY: "-----BEGIN RSA PRIVATE KEY-----",
  WEBHOOK_SECRET: "hook",
  DATABASE_URL: "postgres://x",
  GITHUB_TOKEN: "ghs_x",
  SECRET: "s",
  ANTHROPIC_API_KEY: "sk-ant",
  NODE_OPTIONS: "--require evil.js",
};

describe("agentEnvironment", () => {
  it("keeps only the base allowlist that is set", () => {
    expect(agentEnvironment(source)).toEqual({
      PATH: "/usr/bin:/bin",
      HOME: "/home/drover",
      LANG: "C.UTF-8",
      TZ: "UTC",
    });
  });

  it("adds the names an operator chose to pass", () => {
    expect(agentEnvironment(source, ["ANTHROPIC_API_KEY", "NOT_SET"])).toMatchObject({
      ANTHROPIC_API_KEY: "sk-ant",
    });
    expect(agentEnvironment(source, ["NOT_SET"])).not.toHaveProperty("NOT_SET");
  });

  it.each([
    "PRIVATE_KEY",
    "PRIVATE_KEY_PATH",
    "WEBHOOK_SECRET",
    "DATABASE_URL",
    "REDIS_URL",
    "APP_ID",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "DROVER_ANYTHING",
    "GITHUB_APP_KEY",
    "github_token",
  ])("refuses to pass %s", (name) => {
    expect(() => agentEnvironment(source, [name])).toThrow(
      `agent environment: refusing to pass ${name} to the agent`,
    );
  });

  it("refuses a name that is not a variable name", () => {
    expect(() => agentEnvironment(source, ["A=B"])).toThrow('"A=B" is not a valid environment variable name');
  });
});
