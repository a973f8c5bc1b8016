import type { IncomingMessage, ServerResponse } from "node:http";
import { listRefs } from "./refs.ts";
import { serveGit } from "./http-backend.ts";
import { authenticate } from "../auth.ts";
import type { SandboxContext } from "../context.ts";
import { announcePush, type RefUpdate } from "../pushes.ts";
import { SandboxError, type Account } from "../world.ts";

/** `/<owner>/<name>.git/<smart-protocol path>`: the only git URLs the sandbox serves. */
const GIT_PATH =
  /^\/([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)\.git(\/(?:info\/refs|git-upload-pack|git-receive-pack))$/;

export function isGitRequest(pathname: string): boolean {
  return GIT_PATH.test(pathname);
}

/**
 * Git over HTTP, as GitHub serves it: any token that may read the repository fetches, one that may
 * write pushes; each push that moves branches is announced (push webhook, pull request synchronize).
 */
export async function serveGitRequest(
  ctx: SandboxContext,
  request: IncomingMessage,
  response: ServerResponse,
  pushLocks: Map<string, Promise<void>>,
): Promise<void> {
  const url = new URL(request.url ?? "/", "http://sandbox");
  const [, owner, name, rest] = GIT_PATH.exec(url.pathname) ?? [];
  const pushing = rest === "/git-receive-pack" || url.searchParams.get("service") === "git-receive-pack";
  let pusher: Account;
  let repoKey: string;
  try {
    const actor = authenticate(ctx.world, ctx.tokens, request.headers.authorization);
    if (actor.kind === "anonymous") {
      response
        .writeHead(401, { "www-authenticate": 'Basic realm="GitHub"', "content-type": "text/plain" })
        .end("Authentication required: use a token (x-access-token:<token>).\n");
      return;
    }
    const repo = ctx.visibleRepo(actor, owner, name);
    pusher = actor.kind === "person" || actor.kind === "installation" ? actor.account : repo.owner;
    if (pushing) ctx.require(repo, pusher, "write", "pushing");
    repoKey = repo.fullName;
  } catch (error) {
    const status = error instanceof SandboxError ? error.status : 500;
    const message = error instanceof Error ? error.message : String(error);
    response.writeHead(status, { "content-type": "text/plain" }).end(`${message}\n`);
    return;
  }
  const repo = ctx.world.repo(owner!, name!)!;
  const bare = ctx.barePath(repo);
  const serve = () =>
    serveGit(request, response, {
      projectRoot: ctx.gitRoot,
      pathInfo: `/${repo.owner.login}/${repo.name}.git${rest}`,
      remoteUser: pusher.login,
    });
  if (!(pushing && rest === "/git-receive-pack")) {
    await serve();
    return;
  }
  // Pushes to one repository go one at a time, so the refs before and after belong to this push.
  const previous = pushLocks.get(repoKey) ?? Promise.resolve();
  const done = previous.then(async () => {
    const before = await listRefs(bare);
    await serve();
    const after = await listRefs(bare);
    const updates: RefUpdate[] = [];
    for (const ref of new Set([...before.keys(), ...after.keys()])) {
      const was = before.get(ref) ?? null;
      const now = after.get(ref) ?? null;
      if (was !== now) updates.push({ ref, before: was, after: now });
    }
    if (updates.length > 0) {
      repo.pushedAt = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
      await announcePush(ctx, repo, pusher, updates);
    }
  });
  pushLocks.set(
    repoKey,
    done.catch(() => undefined),
  );
  await done;
}
