import { hasCommand } from "../graph/commands.ts";
import { isBot } from "../lib/bots.ts";
import { STATUS_MARKER, STORY_MARKER } from "./comments.ts";
import { authorise } from "./people.ts";
import type { Octokit, RepoRef } from "./types.ts";

/** Reads of an issue's conversation for the prompt. */

export type WriterComment = {
  id: number;
  author: string;
  /** The author's access when read: admin, maintain or write. */
  permission: string;
  body: string;
  createdAt: Date;
  url: string;
};

type RawComment = {
  id: number;
  body?: string | null;
  user?: { login: string; type?: string } | null;
  created_at: string;
  html_url: string;
};

/**
 * The issue's comments written up to `until` (the attempt's trigger time) by people with write access,
 * oldest first. Bots' comments (Drover's status and story comments included) and comments holding a
 * `/drover` command are left out, and so is
 * anything anyone else wrote: a person who cannot start work cannot steer it either. Each author's access
 * is read once per call, as it is now.
 *
 * GitHub lists an issue's comments oldest first, so the listing stops at the first page that reaches past
 * `until`. (Its `since` filter is on the last update, so it cannot bound this from above.) A comment is
 * shown as it reads now: GitHub keeps no earlier versions, and only its author or a writer can edit it.
 */
export async function writersComments(
  octokit: Octokit,
  repo: RepoRef,
  issueNumber: number,
  until: Date,
): Promise<WriterComment[]> {
  const comments = await octokit.paginate(
    octokit.rest.issues.listComments,
    { ...repo, issue_number: issueNumber, per_page: 100 },
    (response, done) => {
      const page = response.data as RawComment[];
      if (page.some((comment) => new Date(comment.created_at) > until)) done();
      return page.filter((comment) => new Date(comment.created_at) <= until);
    },
  );
  const people = comments.filter((comment) => {
    const user = comment.user;
    if (!user || isBot(user)) return false;
    const body = comment.body ?? "";
    // A `/drover` command is an instruction to Drover, not discussion; a hint reaches the prompt as a hint.
    return !body.includes(STATUS_MARKER) && !body.includes(STORY_MARKER) && !hasCommand(body);
  });
  const access = new Map<string, string | null>();
  const kept: WriterComment[] = [];
  for (const comment of people) {
    const author = comment.user?.login ?? "";
    if (!access.has(author)) access.set(author, await writerPermission(octokit, repo, author));
    const permission = access.get(author);
    if (!permission) continue;
    kept.push({
      id: comment.id,
      author,
      permission,
      body: comment.body ?? "",
      createdAt: new Date(comment.created_at),
      url: comment.html_url,
    });
  }
  return kept;
}

/** The user's access when it is write or more; null otherwise (also for a deleted or unknown user). */
async function writerPermission(octokit: Octokit, repo: RepoRef, login: string): Promise<string | null> {
  try {
    const result = await authorise(octokit, repo, { login, type: "User" });
    return result.allowed ? result.permission : null;
  } catch (error) {
    if ((error as { status?: number }).status === 404) return null;
    throw error;
  }
}

/**
 * GitHub's web address for the API this client talks to: https://github.com for api.github.com, the host
 * for Enterprise Server (`https://host/api/v3`) and for the sandbox.
 */
export function webUrlOf(octokit: Octokit): string {
  const api = new URL(String(octokit.request.endpoint.DEFAULTS.baseUrl));
  if (api.hostname === "api.github.com") return "https://github.com";
  return `${api.origin}${api.pathname.replace(/\/api\/v3\/?$/, "").replace(/\/$/, "")}`;
}
