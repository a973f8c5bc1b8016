import { describe, expect, it } from "vitest";
import { AgentCredentialsError, credentialPath, credentialValues } from "../../../src/agent/home.ts";

describe("credentialPath", () => {
  const home = "/home/drover";

  it("is the file's place under the worker's HOME", () => {
    expect(credentialPath("/home/drover/.codex/auth.json", home)).toBe(".codex/auth.json");
    expect(credentialPath("/home/drover/.config/opencode/../amp/secrets.json", home)).toBe(
      ".config/amp/secrets.json",
    );
    // A name that merely starts with two dots is still inside.
    expect(credentialPath("/home/drover/..hidden/key", home)).toBe("..hidden/key");
  });

  it("refuses a file outside the worker's HOME, HOME itself, and a relative path, saying how to name it", () => {
    for (const outside of [
      "/etc/passwd",
      "/home/drover-other/.codex/auth.json",
      "/home/drover/../x",
      home,
      ".codex/auth.json",
    ]) {
      expect(() => credentialPath(outside, home)).toThrow(AgentCredentialsError);
    }
    expect(() => credentialPath("/etc/secret.json", home)).toThrow(
      "DROVER_AGENT_CREDENTIALS names a file outside the worker's HOME (secret.json); name files under it, as ~/.codex/auth.json",
    );
  });
});

describe("credentialValues", () => {
  it("takes every long string of a JSON file, however deep", () => {
    const file = JSON.stringify({
      OPENAI_API_KEY: null,
      tokens: {
        id_token: "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl",
        access_token: "access-0123456789abcdef",
        refresh_token: "rt_0123456789abcdefghij",
        account_id: "short",
      },
      providers: [{ key: "sk-or-v1-0123456789abcdef" }],
      expires: 1766000000000,
    });
    expect(credentialValues(file).sort()).toEqual(
      [
        "access-0123456789abcdef",
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl",
        "rt_0123456789abcdefghij",
        "sk-or-v1-0123456789abcdef",
      ].sort(),
    );
  });

  it("takes the values of KEY=value and key: value lines, quoted or not, other long lines whole, comments aside", () => {
    const file = [
      "# a comment line that is long enough",
      'AMP_API_KEY="amp_0123456789abcdef"',
      "token: 'tok-0123456789abcdef'",
      "SHORT=abc",
      "  raw-token-without-a-name-0123  ",
      "",
    ].join("\n");
    expect(credentialValues(file)).toEqual([
      "amp_0123456789abcdef",
      "tok-0123456789abcdef",
      "raw-token-without-a-name-0123",
    ]);
  });

  it("finds nothing in an empty file", () => {
    expect(credentialValues("")).toEqual([]);
    expect(credentialValues("{}")).toEqual([]);
  });
});
