import { GitError } from "./run-git.ts";

/**
 * Flags for every git call that carries the token. The repository's config is shared with agents'
 * worktrees, so nothing it names (hooks, credential helpers, fsmonitor programs) may run while the
 * token is in the environment.
 */
export const TOKEN_SAFE_FLAGS: readonly string[] = [
  "-c",
  "core.hooksPath=/dev/null",
  "-c",
  "credential.helper=",
  "-c",
  "core.fsmonitor=false",
];

/**
 * The installation token as environment-only git config (`http.extraheader`). It never goes in argv
 * (visible in `ps`), a URL or a config file (visible to agents sharing the mirror).
 * Returns `{}` without a token, e.g. for public repositories in tests.
 */
export function credentialEnv(token: string | undefined): Record<string, string> {
  if (token === undefined || token === "") return {};
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f]/.test(token)) {
    throw new TypeError("installation token contains whitespace or control characters");
  }
  const basic = Buffer.from(`x-access-token:${token}`, "utf8").toString("base64");
  return {
    GIT_CONFIG_COUNT: "1",
    GIT_CONFIG_KEY_0: "http.extraheader",
    GIT_CONFIG_VALUE_0: `AUTHORIZATION: basic ${basic}`,
  };
}

/** A fetch carrying the token: its safe flags, quiet, no tags, no FETCH_HEAD (mirrors are shared). */
export const QUIET_FETCH: readonly string[] = [
  ...TOKEN_SAFE_FLAGS,
  "fetch",
  "--quiet",
  "--no-tags",
  "--no-write-fetch-head",
];

/** A clone URL must not be readable as an option, use a command transport, or embed credentials. */
export function assertCredentialFreeUrl(url: string): void {
  const fail = (why: string): never => {
    throw new GitError(`refusing clone URL: ${why}`, { subcommand: "url" });
  };
  if (url === "" || url.startsWith("-")) fail("empty or starts with '-'");
  if (/^[a-z][a-z0-9+.-]*::/i.test(url)) fail("remote helper transports are not allowed");
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return fail("not a valid URL");
    }
    if (parsed.username !== "" || parsed.password !== "") fail("it carries credentials");
  }
}
