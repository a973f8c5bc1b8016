import { jsonLines } from "./json-lines.ts";
import type { ExitClassification } from "./types.ts";

export interface ExitPatterns {
  rateLimited: readonly RegExp[];
  unavailable: readonly RegExp[];
}

/**
 * No credit: Anthropic's "credit balance is too low", OpenAI's `insufficient_quota` ("You exceeded your
 * current quota", Codex's "Quota exceeded"). OpenAI sends it as a 429, but waiting does not bring credit
 * back, so a line saying it is unavailable even where it also reads as a rate limit.
 */
const NO_CREDIT =
  /credit balance is too low|insufficient (?:credits?|balance|funds)|out of credits|quota[\s_-]exceeded|exceeded (?:your )?(?:current )?quota|insufficient_quota/i;

/**
 * Wording the providers behind every CLI share: Anthropic's `rate_limit_error` and `overloaded_error`
 * (HTTP 429 and 529), "Too Many Requests", "usage limit" from the subscription plans; 401 / missing-key /
 * not-logged-in for credentials, and no credit (Anthropic's "credit balance is too low", OpenAI's
 * `insufficient_quota`).
 */
export const COMMON_PATTERNS: ExitPatterns = {
  rateLimited: [
    /rate[\s_-]?limit/i,
    /too many requests/i,
    /usage[\s_-]limit/i,
    /overloaded/i,
    /resource[\s_-]exhausted/i,
    /\b(?:status|code|http|error)\W{0,3}(?:429|529)\b/i,
    /\b(?:429|529)\s*(?:too many|\{)/i,
  ],
  unavailable: [
    /not (?:logged|signed) in|log ?in (?:is )?required|please (?:run )?\/?log ?in|run `?[\w-]+ (?:auth )?login\b/i,
    /invalid[\s_-]?(?:x-)?api[\s_-]?key|incorrect api key|(?:missing|no) api key|api key (?:is )?(?:missing|invalid|not (?:set|found|valid|configured))/i,
    /authentication[\s_-](?:error|failed|required)|\bunauthori[sz]ed\b|could not resolve authentication|missing bearer/i,
    /\b(?:status|code|http|error)\W{0,3}401\b/i,
    /(?:oauth|access|auth) token (?:has )?(?:expired|been revoked)|token_expired/i,
  ],
};

export function withPatterns(extra: Partial<ExitPatterns>): ExitPatterns {
  return {
    rateLimited: [...COMMON_PATTERNS.rateLimited, ...(extra.rateLimited ?? [])],
    unavailable: [...COMMON_PATTERNS.unavailable, ...(extra.unavailable ?? [])],
  };
}

/** How much of each text is searched: the end, where a CLI prints why it gave up. */
const SEARCHED_CHARS = 4096;
const DETAIL_CHARS = 300;

/**
 * Classifies a run that ended badly by what it said. Texts are searched in order (the agent's own error
 * report first, then stderr), each from its last line back, so the final error wins over the retries
 * logged before it. Only ever called for a failed run: text from a successful one (an agent writing
 * rate-limit code, say) must not turn it into a failure.
 */
export function classifyFailure(
  texts: readonly (string | undefined)[],
  patterns: ExitPatterns = COMMON_PATTERNS,
): ExitClassification {
  for (const text of texts) {
    if (!text) continue;
    const lines = text.slice(-SEARCHED_CHARS).split("\n");
    for (let i = lines.length - 1; i >= 0; i -= 1) {
      const line = (lines[i] as string).trim();
      if (line === "") continue;
      if (NO_CREDIT.test(line)) return { exit: "unavailable", detail: clip(line) };
      if (patterns.rateLimited.some((pattern) => pattern.test(line))) {
        return { exit: "rate-limited", detail: clip(line) };
      }
      if (patterns.unavailable.some((pattern) => pattern.test(line))) {
        return { exit: "unavailable", detail: clip(line) };
      }
    }
  }
  return { exit: "failed" };
}

function clip(line: string): string {
  return line.length <= DETAIL_CHARS ? line : `${line.slice(0, DETAIL_CHARS - 1)}…`;
}

/**
 * Stdout, when it holds no JSON events at all (a CLI that gave up before its event stream began says why
 * in plain text); otherwise nothing, since event payloads carry the agent's work, not the CLI's errors.
 */
export function plainStdout(stdout: string): string | undefined {
  return jsonLines(stdout).length === 0 ? stdout : undefined;
}
