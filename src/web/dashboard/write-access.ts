import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { GitHubApp } from "../../github/app.ts";
import { authorise } from "../../github/people.ts";
import { repoRef } from "../../github/types.ts";
import { cookieOf, SESSION_COOKIE } from "../auth.ts";
import type { Viewer } from "../viewer.ts";

/** How long GitHub's word on a person's write access is kept: a few minutes, then asked again. */
export const WRITE_ACCESS_TTL_MS = 3 * 60_000;

export type WriteAccess = { allowed: true } | { allowed: false; why: string };

/**
 * Whether a viewer may use the controls on a repository: a token as it was issued; a person as GitHub
 * says (write, maintain or admin: the check a `/drover` command's author gets), kept a few minutes per
 * person and repository so a page view does not cost a request. The control's job asks GitHub again.
 */
export class WriteAccessCache {
  readonly #answers = new Map<string, { access: WriteAccess; until: number }>();

  constructor(
    private readonly github: Pick<GitHubApp, "installation">,
    private readonly ttlMs = WRITE_ACCESS_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  async check(viewer: Viewer, repo: { fullName: string; installationId: number }): Promise<WriteAccess> {
    if (viewer.mayWrite === true) return { allowed: true };
    if (viewer.mayWrite === false)
      return {
        allowed: false,
        why: `The token ${viewer.login.replace(/^token:/, "")} was issued read-only.`,
      };
    const key = `${viewer.login.toLowerCase()}\0${repo.fullName.toLowerCase()}`;
    const kept = this.#answers.get(key);
    if (kept && kept.until > this.now()) return kept.access;
    const octokit = await this.github.installation(repo.installationId);
    const answer = await authorise(octokit, repoRef(repo.fullName), { login: viewer.login, type: "User" });
    const access: WriteAccess = answer.allowed
      ? { allowed: true }
      : {
          allowed: false,
          why: `Read-only: GitHub says ${viewer.login}'s permission on ${repo.fullName} is "${answer.permission}"; the controls need write, maintain or admin.`,
        };
    if (this.#answers.size > 10_000) this.#answers.clear();
    this.#answers.set(key, { access, until: this.now() + this.ttlMs });
    return access;
  }
}

/**
 * The session's CSRF token: derived from the session cookie's secret, which another site cannot read, so
 * a form posted from elsewhere cannot carry it. Null without a session (a bearer token needs none: no
 * browser sends it by itself).
 */
export function csrfTokenOf(request: IncomingMessage): string | null {
  const session = cookieOf(request, SESSION_COOKIE);
  return session ? createHash("sha256").update(`drover-csrf\0${session}`).digest("base64url") : null;
}

/**
 * Why a POST may not be from the page it claims (null: it is): a browser says where a request comes from
 * (`Sec-Fetch-Site`, `Origin`), and a form of ours carries the session's CSRF token.
 */
export function crossSiteProblem(
  request: IncomingMessage,
  token: string | undefined,
  publicUrl?: string,
): string | null {
  if (request.headers.authorization) return null;
  const site = request.headers["sec-fetch-site"];
  if (site !== undefined && site !== "same-origin" && site !== "none")
    return "This request came from another site; use the dashboard's own buttons.";
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== "null") {
    // Behind a proxy the Host header may be an internal name: DROVER_PUBLIC_URL's host is ours too.
    const hosts = [request.headers.host, publicUrl ? new URL(publicUrl).host : undefined];
    if (!URL.canParse(origin) || !hosts.includes(new URL(origin).host))
      return "This request came from another site; use the dashboard's own buttons.";
  }
  const expected = csrfTokenOf(request);
  if (!expected || !token) return "The form has expired; reload the page and try again.";
  const a = Buffer.from(expected);
  const b = Buffer.from(token);
  if (a.length !== b.length || !timingSafeEqual(a, b))
    return "The form has expired; reload the page and try again.";
  return null;
}
