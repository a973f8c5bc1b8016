import { createHash } from "node:crypto";
import type { Octokit, RepoRef } from "./types.ts";

/** Marks the one status comment per issue (what it is, for people and tools reading the issue). */
export const STATUS_MARKER = "<!-- drover:status -->";
/** Marks the story checklist on a parent issue. */
export const STORY_MARKER = "<!-- drover:story -->";

/** The body Drover sends for a marked comment, and its hash (what is kept to know an edit changes nothing). */
export function markedText(body: string, marker: string): { text: string; hash: string } {
  const text = `${marker}\n${body}`;
  return { text, hash: createHash("sha256").update(text).digest("hex") };
}

export type MarkedCommentWrite = {
  id: number;
  /** The hash of the body the comment now has on GitHub (the last one sent). */
  hash: string | null;
  outcome: "created" | "edited" | "unchanged" | "deferred";
};

/**
 * Keeps one marked comment on an issue (the status comment, a story's checklist), written from what Drover
 * last sent (`last`), never read back first: a body the comment already has is not sent again; an edit
 * waits when `deferEdit` says so (a cosmetic write while the rate limit runs low: the comment keeps its
 * last body and the caller records the edit as owed); a comment a person deleted is made again. With no
 * id to go on, a new one is made at once: the id is recorded as soon as it is made (src/db/last-written.ts),
 * so no listing of the issue's comments is needed to find it again.
 */
export async function writeMarkedComment(
  octokit: Octokit,
  repo: RepoRef,
  issueNumber: number,
  body: string,
  last: { id: number | null; hash: string | null },
  options: { marker?: string; deferEdit?: () => boolean | Promise<boolean> } = {},
): Promise<MarkedCommentWrite> {
  const marker = options.marker ?? STATUS_MARKER;
  const { text, hash } = markedText(body, marker);
  const id = last.id;
  if (id !== null) {
    if (last.hash === hash) return { id, hash, outcome: "unchanged" };
    if (await options.deferEdit?.()) return { id, hash: last.hash, outcome: "deferred" };
    try {
      await octokit.rest.issues.updateComment({ ...repo, comment_id: id, body: text });
      return { id, hash, outcome: "edited" };
    } catch (error) {
      if ((error as { status?: number }).status !== 404) throw error;
    }
  }
  const { data } = await octokit.rest.issues.createComment({
    ...repo,
    issue_number: issueNumber,
    body: text,
  });
  return { id: data.id, hash, outcome: "created" };
}

/** A one-off answer on an issue (a refused request, a config error). */
export async function reply(
  octokit: Octokit,
  repo: RepoRef,
  issueNumber: number,
  body: string,
): Promise<number> {
  const { data } = await octokit.rest.issues.createComment({ ...repo, issue_number: issueNumber, body });
  return data.id;
}
