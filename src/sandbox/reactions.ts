import { actingAccount } from "./auth.ts";
import type { SandboxContext } from "./context.ts";
import { paginate, positiveInt, requireString, type ApiRequest, type ApiResponse } from "./router.ts";
import { reaction as reactionJson } from "./shapes.ts";
import { now, SandboxError, type ReactionRecord } from "./world.ts";

/**
 * Reactions, the same on issues, issue comments and review comments: anyone who can see the repository
 * may react; the same reaction twice by the same person answers the first (200) instead of a new one (201).
 */

const REACTIONS = new Set(["+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"]);

type Reactable = { reactions: ReactionRecord[] };

export function react(ctx: SandboxContext, request: ApiRequest, target: Reactable): ApiResponse {
  const sender = actingAccount(request.actor);
  const content = requireString(request.body, "content", "Reaction");
  if (!REACTIONS.has(content)) {
    throw new SandboxError(422, `Invalid request: content must be one of ${[...REACTIONS].join(", ")}`);
  }
  const existing = target.reactions.find((r) => r.user.id === sender.id && r.content === content);
  if (existing) return { status: 200, body: reactionJson(ctx.urls, existing) };
  const created = { id: ctx.world.nextId(), user: sender, content, createdAt: now() };
  target.reactions.push(created);
  return { status: 201, body: reactionJson(ctx.urls, created) };
}

/** A page of `target`'s reactions, of one `content` when the query names it. */
export function listReactions(
  ctx: SandboxContext,
  request: ApiRequest,
  target: Reactable,
  selfUrl: string,
): ApiResponse {
  const content = request.query.get("content");
  const reactions = target.reactions.filter((r) => content === null || r.content === content);
  const { page, headers } = paginate(reactions, request.query, selfUrl);
  return { status: 200, body: page.map((r) => reactionJson(ctx.urls, r)), headers };
}

/** Deletes one reaction: the reactor's own, or anyone's for someone with write access. */
export function deleteReaction(
  ctx: SandboxContext,
  request: ApiRequest,
  target: Reactable,
  repo: Parameters<SandboxContext["require"]>[0],
): ApiResponse {
  const sender = actingAccount(request.actor);
  const id = positiveInt(request.params.reaction_id, "reaction");
  const found = target.reactions.find((r) => r.id === id);
  if (!found) throw new SandboxError(404, "Not Found");
  if (found.user.id !== sender.id) ctx.require(repo, sender, "write", "deleting someone else's reaction");
  target.reactions.splice(target.reactions.indexOf(found), 1);
  return { status: 204 };
}
