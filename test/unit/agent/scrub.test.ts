import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  relativizePaths,
  scrubSecrets,
  secretValues,
  serverPaths,
  stripAnsi,
} from "../../../src/agent/scrub.ts";

const GHS = `ghs_${"a1B2".repeat(9)}`;
const GHP = `ghp_${"Zz09".repeat(9)}`;
const PAT = `github_pat_11ABCDEFG0${"x".repeat(70)}`;
const ANTHROPIC = `sk-ant-api03-${"k".repeat(40)}`;
const OPENAI = `sk-proj-${"o".repeat(48)}`;
const JWT = `eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIxMjMiLCJleHAiOjF9.${"s".repeat(40)}`;
const KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\nabc\n-----END RSA PRIVATE KEY-----";

describe("scrubSecrets", () => {
  it.each([
    ["an installation token", GHS, "github-token"],
    ["a personal token", GHP, "github-token"],
    ["a fine-grained token", PAT, "github-token"],
    ["an Anthropic key", ANTHROPIC, "anthropic-key"],
    ["an OpenAI key", OPENAI, "openai-key"],
    ["an AWS access key id", "AKIAIOSFODNN7EXAMPLE", "aws-access-key"],
    ["a JWT", JWT, "jwt"],
    ["a private key block", KEY, "private-key"],
  ])("removes %s", (_what, secret, kind) => {
    const out = scrubSecrets(`before ${secret} after`);
    expect(out).toBe(`before [REDACTED:${kind}] after`);
  });

  it("removes an AWS secret key but keeps its name", () => {
    expect(scrubSecrets(`aws_secret_access_key = ${"w".repeat(40)}`)).toBe(
      "aws_secret_access_key = [REDACTED:aws-secret-key]",
    );
  });

  it("removes credentials in URLs", () => {
    expect(scrubSecrets(`fetching https://x-access-token:${GHS}@github.com/o/r.git`)).toBe(
      "fetching https://[REDACTED:credentials]@github.com/o/r.git",
    );
  });

  it("removes a token split by terminal colour codes, and the codes", () => {
    const coloured = `token: \u001b[31m${GHS.slice(0, 10)}\u001b[0m${GHS.slice(10)} \u001b]0;title\u0007done`;
    expect(scrubSecrets(coloured)).toBe("token: [REDACTED:github-token] done");
  });

  it("removes a private key cut off by the log's end", () => {
    expect(scrubSecrets("key:\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC")).toBe(
      "key:\n[REDACTED:private-key]",
    );
  });

  it("removes known secret values exactly, however they look", () => {
    expect(scrubSecrets("the key is hunter2-but-longer.", ["hunter2-but-longer"])).toBe(
      "the key is [REDACTED:secret].",
    );
    // Short values would redact ordinary words.
    expect(scrubSecrets("a b c", ["b"])).toBe("a b c");
  });

  it("leaves ordinary output alone", () => {
    const text = "ran 12 tests, 0 failed; commit 0123456789abcdef0123456789abcdef01234567 (sk-learn ok)";
    expect(scrubSecrets(text)).toBe(text);
  });
});

describe("secretValues", () => {
  it("picks values of variables named like secrets", () => {
    expect(
      secretValues({
        PATH: "/usr/bin",
        ANTHROPIC_API_KEY: "k1",
        GH_TOKEN: "t1",
        DB_PASSWORD: "p",
        HOME: "/h",
      }),
    ).toEqual(["k1", "t1", "p"]);
  });
});

describe("stripAnsi", () => {
  it("drops colour and cursor codes", () => {
    expect(stripAnsi("\u001b[1;32mok\u001b[0m \u001b[2K")).toBe("ok ");
  });
});

describe("relativizePaths", () => {
  const paths = serverPaths({
    worktree: "/srv/drover/worktrees/7-12-1-1",
    runDir: "/srv/drover/runs/7-12-1-1",
    droverHome: "/srv/drover",
    workerHome: "/home/worker",
  });

  it("shows the worktree as `.`, and paths inside it relative to it", () => {
    expect(relativizePaths("cwd=/srv/drover/worktrees/7-12-1-1", paths)).toBe("cwd=.");
    expect(relativizePaths("FAIL /srv/drover/worktrees/7-12-1-1/src/a.test.ts:3:9", paths)).toBe(
      "FAIL ./src/a.test.ts:3:9",
    );
  });

  it("shows the run directory and DROVER_HOME as placeholders, and the worker's HOME as ~", () => {
    expect(relativizePaths("HOME=/srv/drover/runs/7-12-1-1/home", paths)).toBe("HOME=<run>/home");
    expect(relativizePaths("fatal: /srv/drover/mirrors/octo/app.git is locked", paths)).toBe(
      "fatal: <drover-home>/mirrors/octo/app.git is locked",
    );
    expect(relativizePaths("reading /home/worker/.npmrc", paths)).toBe("reading ~/.npmrc");
  });

  it("replaces the longest path first: a worktree under DROVER_HOME, DROVER_HOME under HOME", () => {
    const nested = serverPaths({
      worktree: "/home/w/.drover/pool/octo/app/ab12cd34",
      droverHome: "/home/w/.drover",
      workerHome: "/home/w",
    });
    expect(
      relativizePaths("/home/w/.drover/pool/octo/app/ab12cd34/x /home/w/.drover/cache /home/w/y", nested),
    ).toBe("./x <drover-home>/cache ~/y");
  });

  it("replaces only whole paths, not a prefix of a longer name or the tail of another path", () => {
    const wt = serverPaths({ worktree: "/work/wt", workerHome: "/root" });
    expect(relativizePaths("/work/wtx/a /work/wt-2 /work/wt.old /old/work/wt /chroot /var/root", wt)).toBe(
      "/work/wtx/a /work/wt-2 /work/wt.old /old/work/wt /chroot /var/root",
    );
    expect(relativizePaths("'/work/wt' \"/work/wt/\" (/work/wt) /work/wt: /root", wt)).toBe(
      "'.' \"./\" (.) .: ~",
    );
  });

  it("leaves out paths that would mangle every path: the root, relative ones, none given", () => {
    expect(serverPaths({ worktree: "/", droverHome: "drover", workerHome: "" })).toEqual([]);
    expect(serverPaths({ worktree: "/a/b/" })).toEqual([{ path: "/a/b", shownAs: "." }]);
    expect(relativizePaths("/etc/passwd /a/b", [])).toBe("/etc/passwd /a/b");
  });

  it("never leaves a given path in the text, whatever surrounds it", () => {
    const wt = serverPaths({ worktree: "/w/t", droverHome: "/w", workerHome: "/h" });
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constantFrom("/w/t", "/w", "/h", "/", " ", ":", "'", "\n"), fc.string()), {
          maxLength: 12,
        }),
        (parts) => {
          const out = relativizePaths(parts.join(""), wt);
          // None of the paths is left where a path starts (the text's start, after a space, a colon, a
          // quote or a newline) and ends (the text's end, or anything but a name character).
          expect(out).not.toMatch(/(^|[\s:'])\/(w|w\/t|h)(?![A-Za-z0-9._~+@-])/);
        },
      ),
    );
  });
});
