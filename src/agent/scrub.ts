/**
 * Removes secrets from agent and check output before it is stored, logged or posted. Pure.
 *
 * Agents print what they see, and what they see may include a key an operator passed them, or one a
 * repository's test fixtures leak. Known secret values (the operator's agent keys, the installation
 * token) are removed exactly; well-known token shapes are removed by pattern. Terminal colour codes are
 * dropped first, so a token split by them is still caught (and comments read better without them).
 */

const ANSI = new RegExp(
  [
    "\\u001b\\][^\\u0007\\u001b]*(?:\\u0007|\\u001b\\\\)", // OSC ... BEL or ST (titles, hyperlinks)
    "\\u001b\\[[0-?]*[ -/]*[@-~]", // CSI (colours, cursor movement)
    "\\u001b[@-Z\\\\-_]", // other two-byte escapes
  ].join("|"),
  "g",
);

const PATTERNS: { kind: string; pattern: RegExp }[] = [
  {
    kind: "private-key",
    pattern: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g,
  },
  { kind: "github-token", pattern: /\bgh[pousr]_[A-Za-z0-9]{30,255}\b/g },
  { kind: "github-token", pattern: /\bgithub_pat_[A-Za-z0-9_]{22,255}\b/g },
  { kind: "anthropic-key", pattern: /\bsk-ant-[A-Za-z0-9_-]{20,}/g },
  { kind: "openai-key", pattern: /\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}/g },
  { kind: "aws-access-key", pattern: /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g },
  {
    kind: "aws-secret-key",
    pattern:
      /(aws_secret_access_key|secretAccessKey|AWS_SECRET_ACCESS_KEY)(["']?\s*[:=]\s*["']?)[A-Za-z0-9/+=]{40}/g,
  },
  { kind: "jwt", pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g },
  { kind: "basic-auth-url", pattern: /(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s:@]+:[^/\s@]+@/gi },
];

/** Secret values shorter than this are not matched exactly (they would redact ordinary words). */
const MIN_KNOWN_LENGTH = 8;

export function stripAnsi(text: string): string {
  return text.replace(ANSI, "");
}

export function scrubSecrets(text: string, known: readonly string[] = []): string {
  let out = stripAnsi(text);
  for (const secret of known) {
    if (secret.length >= MIN_KNOWN_LENGTH) out = out.split(secret).join("[REDACTED:secret]");
  }
  for (const { kind, pattern } of PATTERNS) {
    out = out.replace(pattern, (...match: string[]) => {
      if (kind === "aws-secret-key") return `${match[1]}${match[2]}[REDACTED:${kind}]`;
      if (kind === "basic-auth-url") return `${match[1]}[REDACTED:credentials]@`;
      return `[REDACTED:${kind}]`;
    });
  }
  return out;
}

/** Values in an environment that look like secrets, for exact removal (keys, tokens, passwords). */
export function secretValues(env: Record<string, string | undefined>): string[] {
  return Object.entries(env)
    .filter(([name, value]) => value && /KEY|TOKEN|SECRET|PASSWORD|PASS|CREDENTIAL|AUTH/i.test(name))
    .map(([, value]) => value as string);
}

/** An absolute path of the worker's, and what output posted to GitHub shows instead. */
export type ServerPath = { path: string; shownAs: string };

/** What the worker's own directories read as on GitHub. */
export const SHOWN_AS = {
  worktree: ".",
  run: "<run>",
  droverHome: "<drover-home>",
  workerHome: "~",
} as const;

/**
 * The worker's absolute paths an attempt's output may name, each with what is shown instead: the worktree
 * as `.` (output reads as if run from the repository's root), the attempt's run directory and DROVER_HOME
 * as placeholders, and the worker's HOME as `~`. Paths that are not absolute (or are the root) are left
 * out: replacing `/` would mangle every path in the text. Pure.
 */
export function serverPaths(places: {
  worktree?: string | undefined;
  runDir?: string | undefined;
  droverHome?: string | undefined;
  workerHome?: string | undefined;
}): ServerPath[] {
  const named: [string | undefined, string][] = [
    [places.worktree, SHOWN_AS.worktree],
    [places.runDir, SHOWN_AS.run],
    [places.droverHome, SHOWN_AS.droverHome],
    [places.workerHome, SHOWN_AS.workerHome],
  ];
  return named.flatMap(([where, shownAs]) => {
    const trimmed = where?.replace(/\/+$/, "");
    return trimmed && trimmed.startsWith("/") ? [{ path: trimmed, shownAs }] : [];
  });
}

/** Characters that may continue a file name: a path followed by one of these is a different path. */
const NAME_CHAR = /[A-Za-z0-9._~+@-]/;

/**
 * Replaces each of the worker's absolute `paths` in `text` with what it is shown as: the longest first,
 * so a worktree under DROVER_HOME reads as `.`, not `<drover-home>/worktrees/...`. Only whole path
 * prefixes are replaced: `/work/wt` is not replaced inside `/work/wtx` or `/old/work/wt`. Pure.
 *
 * Output goes to issues and check runs, which anyone who can read the repository can read: the
 * machine's layout (user names, where DROVER_HOME is) is not theirs to know.
 */
export function relativizePaths(text: string, paths: readonly ServerPath[]): string {
  const ordered = [...paths].sort((a, b) => b.path.length - a.path.length);
  if (ordered.length === 0 || text === "") return text;
  let out = "";
  let i = 0;
  outer: while (i < text.length) {
    const before = i === 0 ? "" : text[i - 1]!;
    if (text[i] === "/" && (before === "" || !NAME_CHAR.test(before))) {
      for (const { path, shownAs } of ordered) {
        if (!text.startsWith(path, i)) continue;
        const after = text[i + path.length];
        if (after !== undefined && NAME_CHAR.test(after)) continue;
        out += shownAs;
        i += path.length;
        continue outer;
      }
    }
    out += text[i];
    i += 1;
  }
  return out;
}
