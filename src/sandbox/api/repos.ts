import { createHash } from "node:crypto";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { commitFiles } from "../git/commit-files.ts";
import { deleteRef, initBareRepository, readBlob, resolveRef } from "../git/refs.ts";
import { actingAccount } from "../auth.ts";
import type { SandboxContext } from "../context.ts";
import { announcePush } from "../pushes.ts";
import { field, requireString, type ApiRequest, type Router } from "../router.ts";
import { publicUser, user } from "../shapes.ts";
import { now, SandboxError, type Account, type RepoRecord } from "../world.ts";

const REPO_SETTINGS = new Set(["allow_auto_merge", "description"]);

/** Repositories (create, get, settings), file contents, branch deletion, collaborator permission, users. */
export function repoRoutes(router: Router, ctx: SandboxContext): void {
  const create = async (owner: Account, creator: Account, body: unknown) => {
    const name = requireString(body, "name", "Repository");
    const description = field(body, "description");
    const repo = ctx.world.addRepo(owner, name, {
      description: typeof description === "string" ? description : null,
    });
    const allowAutoMerge = field(body, "allow_auto_merge");
    if (typeof allowAutoMerge === "boolean") repo.allowAutoMerge = allowAutoMerge;
    const bare = ctx.barePath(repo);
    await mkdir(path.dirname(bare), { recursive: true });
    await initBareRepository(bare, { defaultBranch: repo.defaultBranch });
    if (field(body, "auto_init") === true) {
      await commitFiles(bare, {
        branch: repo.defaultBranch,
        files: { "README.md": `# ${name}\n${typeof description === "string" ? `\n${description}\n` : ""}` },
        message: "Initial commit",
        author: {
          name: creator.name ?? creator.login,
          email: `${creator.id}+${creator.login}@users.noreply.sandbox`,
        },
      });
      repo.pushedAt = now();
    }
    return { status: 201, body: fullRepository(ctx, repo, creator) };
  };

  router.add("POST", "/user/repos", ({ actor, body }) => {
    const person = actingAccount(actor);
    return create(person, person, body);
  });
  router.add("POST", "/orgs/{org}/repos", ({ actor, params, body }) => {
    const person = actingAccount(actor);
    const org = ctx.world.account(params.org ?? "");
    if (!org || org.type !== "Organization") throw new SandboxError(404, "Not Found");
    if (person.permission !== "admin")
      throw new SandboxError(403, `${person.login} cannot create repositories in ${org.login}: needs admin`);
    return create(org, person, body);
  });

  router.add("GET", "/repos/{owner}/{repo}", ({ actor, params }) => {
    const repo = ctx.visibleRepo(actor, params.owner, params.repo);
    return {
      status: 200,
      body: fullRepository(ctx, repo, actor.kind === "person" ? actor.account : null),
    };
  });

  // Settings: only those the sandbox acts on; any other field is refused by name rather than ignored.
  router.add("PATCH", "/repos/{owner}/{repo}", ({ actor, params, body }) => {
    const repo = ctx.visibleRepo(actor, params.owner, params.repo);
    const person = actingAccount(actor);
    ctx.require(repo, person, "admin", "changing a repository's settings");
    const settings = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
    const unknown = Object.keys(settings).filter((key) => !REPO_SETTINGS.has(key));
    if (unknown.length > 0) {
      throw new SandboxError(
        422,
        `Invalid request: the sandbox changes only ${[...REPO_SETTINGS].join(", ")}, not ${unknown.join(", ")}`,
      );
    }
    const { allow_auto_merge: allowAutoMerge, description } = settings;
    if (allowAutoMerge !== undefined && typeof allowAutoMerge !== "boolean")
      throw new SandboxError(422, "Invalid request: allow_auto_merge must be true or false");
    if (description !== undefined && description !== null && typeof description !== "string")
      throw new SandboxError(422, "Invalid request: description must be a string");
    if (typeof allowAutoMerge === "boolean") repo.allowAutoMerge = allowAutoMerge;
    if (description !== undefined) repo.description = description as string | null;
    repo.updatedAt = now();
    return { status: 200, body: fullRepository(ctx, repo, person) };
  });

  router.add("GET", "/repos/{owner}/{repo}/contents/{path}", async (request) => {
    const repo = ctx.visibleRepo(request.actor, request.params.owner, request.params.repo);
    const filePath = request.params.path ?? "";
    const ref = request.query.get("ref") ?? repo.defaultBranch;
    const data = await readBlob(ctx.barePath(repo), ref, filePath);
    if (data === null) throw new SandboxError(404, "Not Found");
    const accept = String(request.headers.accept ?? "");
    if (/application\/vnd\.github(\.v3)?\.raw/.test(accept)) {
      return { status: 200, raw: { contentType: "application/vnd.github.raw; charset=utf-8", data } };
    }
    return { status: 200, body: contentFile(ctx, repo, filePath, ref, data) };
  });

  router.add("PUT", "/repos/{owner}/{repo}/contents/{path}", async (request) => {
    const repo = ctx.visibleRepo(request.actor, request.params.owner, request.params.repo);
    const sender = actingAccount(request.actor);
    ctx.require(repo, sender, "write", "committing files");
    const filePath = request.params.path ?? "";
    const message = requireString(request.body, "message", "Commit");
    const encoded = field(request.body, "content");
    if (typeof encoded !== "string")
      throw new SandboxError(
        422,
        'Invalid request: "content" is required: the file\'s new content, base64-encoded',
      );
    const branchField = field(request.body, "branch");
    const branch = typeof branchField === "string" ? branchField : repo.defaultBranch;
    const bare = ctx.barePath(repo);
    const existing = await readBlob(bare, branch, filePath);
    const sha = field(request.body, "sha");
    // As on GitHub: replacing a file without its sha is invalid (422), with a stale one a conflict (409).
    if (existing !== null && sha === undefined) {
      throw new SandboxError(422, `Invalid request.\n\n"sha" wasn't supplied.`, [
        { resource: "Content", field: "sha", code: "missing_field" },
      ]);
    }
    if (existing !== null && sha !== blobSha(existing))
      throw new SandboxError(409, `${filePath} does not match ${String(sha)}`);
    const content = Buffer.from(encoded, "base64").toString("utf8");
    const before = await resolveRef(bare, `refs/heads/${branch}`);
    const commit = await commitFiles(bare, {
      branch,
      files: { [filePath]: content },
      message,
      author: {
        name: sender.name ?? sender.login,
        email: `${sender.id}+${sender.login}@users.noreply.sandbox`,
      },
    });
    repo.pushedAt = now();
    await announcePush(ctx, repo, sender, [{ ref: `refs/heads/${branch}`, before, after: commit }]);
    const file = contentFile(ctx, repo, filePath, branch, Buffer.from(content));
    return {
      status: existing === null ? 201 : 200,
      body: {
        content: { ...file, content: undefined, encoding: undefined },
        commit: {
          sha: commit,
          node_id: Buffer.from(`Commit${commit}`).toString("base64"),
          url: `${ctx.urls.api}/repos/${repo.fullName}/git/commits/${commit}`,
          html_url: `${ctx.urls.web}/${repo.fullName}/commit/${commit}`,
          message,
        },
      },
    };
  });

  // Deleting a branch (`heads/<name>`) is announced as a push deleting it, which retargets the pull
  // requests into it when its own pull request merged (retarget.ts), as on GitHub.
  router.add("DELETE", "/repos/{owner}/{repo}/git/refs/{ref}", async (request) => {
    const repo = ctx.visibleRepo(request.actor, request.params.owner, request.params.repo);
    const sender = actingAccount(request.actor);
    ctx.require(repo, sender, "write", "deleting a branch");
    const ref = request.params.ref ?? "";
    if (!ref.startsWith("heads/"))
      throw new SandboxError(422, `Invalid request: the sandbox deletes branches (heads/<name>), not ${ref}`);
    const bare = ctx.barePath(repo);
    const sha = await resolveRef(bare, `refs/${ref}`).catch(() => null);
    if (sha === null) throw new SandboxError(422, "Reference does not exist");
    if (ref === `heads/${repo.defaultBranch}`)
      throw new SandboxError(422, `Cannot delete the default branch ${repo.defaultBranch}`);
    await deleteRef(bare, `refs/${ref}`, sha, {});
    repo.pushedAt = now();
    await announcePush(ctx, repo, sender, [{ ref: `refs/${ref}`, before: sha, after: null }]);
    return { status: 204 };
  });

  router.add("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission", ({ actor, params }) => {
    const repo = ctx.visibleRepo(actor, params.owner, params.repo);
    const who = ctx.world.account(params.username ?? "");
    if (!who) throw new SandboxError(404, `Not Found: ${params.username} is not a user`);
    const role = ctx.world.permission(repo, who);
    // `permission` folds maintain into write and triage into read; `role_name` keeps them apart.
    const permission = role === "maintain" ? "write" : role === "triage" ? "read" : role;
    return {
      status: 200,
      body: {
        permission,
        role_name: role,
        user: { ...user(ctx.urls, who), ...permissionsOf(ctx, repo, who), role_name: role },
      },
    };
  });

  const userOf = (request: ApiRequest) => {
    const who = ctx.world.account(request.params.username ?? "");
    if (!who) throw new SandboxError(404, "Not Found");
    return who;
  };
  router.add("GET", "/users/{username}", (request) => ({
    status: 200,
    body: publicUser(ctx.urls, userOf(request)),
  }));
  router.add("GET", "/user", ({ actor }) => {
    if (actor.kind === "anonymous") throw new SandboxError(401, "Requires authentication");
    if (actor.kind !== "person") throw new SandboxError(403, "Resource not accessible by integration");
    return { status: 200, body: publicUser(ctx.urls, actor.account) };
  });
}

/** GET a repository and the answer to creating one: with the caller's permissions and network counts. */
function fullRepository(ctx: SandboxContext, repo: RepoRecord, who: Account | null) {
  return { ...ctx.repoJson(repo), ...permissionsOf(ctx, repo, who), network_count: 0, subscribers_count: 0 };
}

function permissionsOf(ctx: SandboxContext, repo: RepoRecord, who: Account | null) {
  if (!who) return {};
  return {
    permissions: {
      admin: ctx.has(repo, who, "admin"),
      maintain: ctx.has(repo, who, "maintain"),
      push: ctx.has(repo, who, "write"),
      triage: ctx.has(repo, who, "triage"),
      pull: ctx.has(repo, who, "read"),
    },
  };
}

/** Git's blob id for content, which the contents API reports as `sha`. */
function blobSha(data: Buffer): string {
  return createHash("sha1").update(`blob ${data.length}\0`).update(data).digest("hex");
}

function contentFile(ctx: SandboxContext, repo: RepoRecord, filePath: string, ref: string, data: Buffer) {
  const sha = blobSha(data);
  const api = `${ctx.urls.api}/repos/${repo.fullName}/contents/${filePath}?ref=${encodeURIComponent(ref)}`;
  const html = `${ctx.urls.web}/${repo.fullName}/blob/${ref}/${filePath}`;
  const gitUrl = `${ctx.urls.api}/repos/${repo.fullName}/git/blobs/${sha}`;
  return {
    type: "file",
    encoding: "base64",
    size: data.length,
    name: path.posix.basename(filePath),
    path: filePath,
    content: data.toString("base64"),
    sha,
    url: api,
    git_url: gitUrl,
    html_url: html,
    download_url: `${ctx.urls.web}/${repo.fullName}/raw/${ref}/${filePath}`,
    _links: { self: api, git: gitUrl, html },
  };
}
