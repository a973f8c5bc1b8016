import type { Octokit, RepoRef } from "./types.ts";

/** Marks the one status comment per issue, so it is found again when its id was lost. */
export const STATUS_MARKER = "<!-- drover:status -->";
/** Marks the story checklist on a parent issue. */
export const STORY_MARKER = "<!-- drover:story -->";

/**
 * Creates the issue's status comment or edits it in place. Returns the comment id to remember. When the
 * remembered comment was deleted by a person, a new one is made.
 */
export async function upsertStatusComment(
  octokit: Octokit,
  repo: RepoRef,
  issueNumber: number,
  body: string,
  knownId: number | null,
  marker = STATUS_MARKER,
): Promise<number> {
  const text = `${marker}\n${body}`;
  const id = knownId ?? (await findMarkedComment(octokit, repo, issueNumber, marker));
  if (id !== null) {
    try {
      await octokit.rest.issues.updateComment({ ...repo, comment_id: id, body: text });
      return id;
    } catch (error) {
      if ((error as { status?: number }).status !== 404) throw error;
    }
  }
  const { data } = await octokit.rest.issues.createComment({
    ...repo,
    issue_number: issueNumber,
    body: text,
  });
  return data.id;
}

async function findMarkedComment(
  octokit: Octokit,
  repo: RepoRef,
  issueNumber: number,
  marker: string,
): Promise<number | null> {
  const comments = await octokit.paginate(octokit.rest.issues.listComments, {
    ...repo,
    issue_number: issueNumber,
    per_page: 100,
  });
  const mine = comments.find((c) => c.user?.type === "Bot" && c.body?.startsWith(marker));
  return mine?.id ?? null;
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
