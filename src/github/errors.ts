/**
 * What a failed GitHub request means for the job that made it, decided here and nowhere else. Pure.
 *
 * - `rate-limited`: a primary limit (says when it resets, `x-ratelimit-reset`) or a secondary one (may
 *   say `retry-after`, and otherwise GitHub asks for at least a minute); the job waits that long.
 * - `transient`: 5xx; trying again may work.
 * - `refused`: 401, 403 (not a rate limit), 404 on a write, 410, 422. Trying again gives the same answer,
 *   so the job fails for good with `message`: what GitHub refused, why, and what a person can do.
 *
 * Anything else (a network error, a 404 on a read, which callers handle) is not classified: null.
 */
export type GitHubFailure =
  | { kind: "rate-limited"; waitMs: number }
  | { kind: "transient"; status: number }
  | { kind: "refused"; status: number; message: string };

type Failed = {
  status?: unknown;
  message?: unknown;
  request?: { method?: unknown; url?: unknown };
  response?: { headers?: Record<string, unknown>; data?: unknown };
};

export function classifyGitHubError(error: unknown, now: number = Date.now()): GitHubFailure | null {
  if (typeof error !== "object" || error === null) return null;
  const failed = error as Failed;
  if (typeof failed.status !== "number") return null;
  const status = failed.status;
  const waitMs = rateLimitWait(failed, now);
  if (waitMs !== null) return { kind: "rate-limited", waitMs };
  if (status >= 500) return { kind: "transient", status };
  const method = String(failed.request?.method ?? "GET").toUpperCase();
  const write = method !== "GET" && method !== "HEAD";
  if (status === 401 || status === 403 || status === 410 || status === 422 || (status === 404 && write)) {
    const what = describeRequest(method, String(failed.request?.url ?? ""));
    const detail = githubMessage(failed);
    return {
      kind: "refused",
      status,
      message: `GitHub refused to ${what} (${status}${detail ? `: ${detail}` : ""}): ${WHAT_TO_DO[status]}`,
    };
  }
  return null;
}

const SECONDARY_DEFAULT_MS = 60_000;

function rateLimitWait(failed: Failed, now: number): number | null {
  if (failed.status !== 403 && failed.status !== 429) return null;
  const headers = failed.response?.headers ?? {};
  const retryAfter = Number(headers["retry-after"]);
  if (Number.isFinite(retryAfter) && retryAfter >= 0) return Math.max(1_000, retryAfter * 1000);
  if (String(headers["x-ratelimit-remaining"]) === "0") {
    const reset = Number(headers["x-ratelimit-reset"]) * 1000;
    return Number.isFinite(reset) ? Math.max(1_000, reset - now + 1_000) : SECONDARY_DEFAULT_MS;
  }
  const message = String(failed.message ?? "");
  if (failed.status === 429 || /secondary rate limit|abuse detection|rate limit/i.test(message))
    return SECONDARY_DEFAULT_MS;
  return null;
}

const WHAT_TO_DO: Record<number, string> = {
  401: "the app's credentials were not accepted; check APP_ID and the private key (PRIVATE_KEY or PRIVATE_KEY_PATH)",
  403: "the app is not allowed to; check that its installation includes this repository and grants write access to contents, issues, pull requests and checks (app.yml), and accept any permissions it asks for again",
  404: "the repository, or what the request points at, is gone or hidden from the app; check that the app is still installed on the repository",
  410: "that feature is turned off on the repository (issues, say); turn it on, or stop labelling its issues",
  422: "GitHub found the request invalid; fix what its message names (a deleted branch, a pull request that already exists), then remove and add the label to try again",
};

/** The writes Drover makes, in words; any other request by its path. */
const REQUESTS: [method: string, path: RegExp, what: (m: RegExpExecArray) => string][] = [
  ["POST", /\/repos\/([^/]+\/[^/]+)\/pulls$/, (m) => `create the pull request in ${m[1]}`],
  ["PATCH", /\/repos\/([^/]+\/[^/]+)\/pulls\/(\d+)$/, (m) => `update pull request #${m[2]} in ${m[1]}`],
  ["POST", /\/repos\/([^/]+\/[^/]+)\/check-runs$/, (m) => `create the check run in ${m[1]}`],
  ["PATCH", /\/repos\/([^/]+\/[^/]+)\/check-runs\/\d+$/, (m) => `update the check run in ${m[1]}`],
  ["POST", /\/repos\/([^/]+\/[^/]+)\/issues\/(\d+)\/comments$/, (m) => `comment on ${m[1]}#${m[2]}`],
  ["PATCH", /\/repos\/([^/]+\/[^/]+)\/issues\/comments\/(\d+)$/, (m) => `edit comment ${m[2]} in ${m[1]}`],
  ["POST", /\/repos\/([^/]+\/[^/]+)\/issues\/(\d+)\/labels$/, (m) => `label ${m[1]}#${m[2]}`],
  [
    "DELETE",
    /\/repos\/([^/]+\/[^/]+)\/issues\/(\d+)\/labels\/([^/]+)$/,
    (m) => `remove the label ${decodeURIComponent(m[3] ?? "")} from ${m[1]}#${m[2]}`,
  ],
  ["POST", /\/repos\/([^/]+\/[^/]+)\/labels$/, (m) => `create a label in ${m[1]}`],
];

function describeRequest(method: string, url: string): string {
  const path = url.replace(/^[a-z]+:\/\/[^/]+/i, "").split("?")[0] ?? "";
  for (const [verb, pattern, what] of REQUESTS) {
    const match = verb === method ? pattern.exec(path) : null;
    if (match) return what(match);
  }
  return method === "GET" ? `let the app read ${path}` : `${method} ${path}`;
}

/** GitHub's own words: its message and those of the errors it lists. */
function githubMessage(failed: Failed): string {
  const data = failed.response?.data as { message?: unknown; errors?: unknown } | undefined;
  if (typeof data?.message !== "string") return String(failed.message ?? "").split(" - https://")[0] ?? "";
  const errors = Array.isArray(data.errors) ? data.errors : [];
  const details = errors.flatMap((e: unknown) => {
    if (typeof e === "string") return [e];
    const item = e as { message?: unknown; code?: unknown; field?: unknown } | null;
    if (typeof item?.message === "string") return [item.message];
    if (typeof item?.code === "string")
      return [typeof item.field === "string" ? `${item.field} ${item.code}` : item.code];
    return [];
  });
  return details.length > 0 ? `${data.message}: ${details.join("; ")}` : data.message;
}
