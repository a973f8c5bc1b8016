import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import type { Octokit, RepoRef } from "./types.ts";

/**
 * Whether Drover's open pull requests merge into their base, as GitHub works it out: in the background
 * once either branch moved, answering "unknown" (REST `mergeable: null`, GraphQL `UNKNOWN`) meanwhile.
 * A push to a base is answered for all its pull requests at once, one GraphQL query per 100 of them, where
 * reading each by number (REST) would cost one request per open pull request on every merge.
 */

/** A pull request's head and mergeability; `mergeable` null while GitHub is still working it out. */
export type PullMergeability = { number: number; headSha: string; mergeable: boolean | null };

/** How long to wait before asking again while GitHub works some mergeability out (a few seconds in all). */
export const MERGEABLE_WAITS_MS = [1_000, 2_000, 4_000];

const OPEN_ON_BASE = `query($owner: String!, $name: String!, $base: String!, $after: String) {
  repository(owner: $owner, name: $name) {
    pullRequests(states: OPEN, baseRefName: $base, first: 100, after: $after) {
      nodes { number headRefOid mergeable }
      pageInfo { hasNextPage endCursor }
    }
  }
}`;

const MERGEABLE = { MERGEABLE: true, CONFLICTING: false, UNKNOWN: null } as const;

const OpenOnBase = z.object({
  repository: z.object({
    pullRequests: z.object({
      nodes: z.array(
        z.object({
          number: z.number().int().positive(),
          headRefOid: z.string(),
          mergeable: z.enum(["MERGEABLE", "CONFLICTING", "UNKNOWN"]),
        }),
      ),
      pageInfo: z.object({ hasNextPage: z.boolean(), endCursor: z.string().nullable() }),
    }),
  }),
});

/**
 * Those of the pull requests `numbers` that are open on `base` now (one closed or retargeted meanwhile is
 * left out), with their mergeability. While GitHub has not worked some out, asks again after each of
 * `waitsMs`, for those alone; what is still unknown after the last wait is returned as null.
 */
export async function readPullsOnBase(
  octokit: Octokit,
  repo: RepoRef,
  base: string,
  numbers: readonly number[],
  waitsMs: readonly number[] = MERGEABLE_WAITS_MS,
): Promise<Map<number, PullMergeability>> {
  const known = await listOpenOnBase(octokit, repo, base, new Set(numbers));
  for (const wait of waitsMs) {
    const unknown = [...known.values()].filter((pull) => pull.mergeable === null).map((pull) => pull.number);
    if (unknown.length === 0) break;
    await sleep(wait);
    const again = await listOpenOnBase(octokit, repo, base, new Set(unknown));
    for (const number of unknown) {
      const pull = again.get(number);
      if (pull) known.set(number, pull);
      else known.delete(number);
    }
  }
  return known;
}

/** One listing of the open pull requests on `base`, page by page until every one of `wanted` was seen. */
async function listOpenOnBase(
  octokit: Octokit,
  repo: RepoRef,
  base: string,
  wanted: Set<number>,
): Promise<Map<number, PullMergeability>> {
  const found = new Map<number, PullMergeability>();
  let after: string | null = null;
  for (;;) {
    const answer: unknown = await octokit.graphql(OPEN_ON_BASE, {
      owner: repo.owner,
      name: repo.repo,
      base,
      after,
    });
    const { nodes, pageInfo } = OpenOnBase.parse(answer).repository.pullRequests;
    for (const node of nodes) {
      if (!wanted.has(node.number)) continue;
      found.set(node.number, {
        number: node.number,
        headSha: node.headRefOid,
        mergeable: MERGEABLE[node.mergeable],
      });
    }
    // Most of a base's open pull requests may be people's: no need to page through them all.
    if (found.size === wanted.size || !pageInfo.hasNextPage || !pageInfo.endCursor) return found;
    after = pageInfo.endCursor;
  }
}

/**
 * One pull request as GitHub has it now (REST), for a move of its own branch: open on `base` or not, and
 * its mergeability, asked for again after each of `waitsMs` while GitHub works it out.
 */
export async function readPull(
  octokit: Octokit,
  repo: RepoRef,
  number: number,
  waitsMs: readonly number[] = MERGEABLE_WAITS_MS,
): Promise<PullMergeability & { state: string; baseRef: string }> {
  for (let read = 0; ; read++) {
    const { data } = await octokit.rest.pulls.get({ ...repo, pull_number: number });
    const pull = {
      number,
      state: data.merged ? "merged" : data.state,
      baseRef: data.base.ref,
      headSha: data.head.sha,
      mergeable: data.mergeable,
    };
    const wait = waitsMs[read];
    if (pull.mergeable !== null || pull.state !== "open" || wait === undefined) return pull;
    await sleep(wait);
  }
}
