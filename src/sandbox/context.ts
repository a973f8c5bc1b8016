import path from "node:path";
import type { Actor } from "./auth.ts";
import type { InstallationTokens } from "./auth.ts";
import {
  installation as installationJson,
  nodeId,
  repository,
  user,
  type Json,
  type Urls,
} from "./shapes.ts";
import type { WebhookSender } from "./webhooks.ts";
import {
  RANK,
  SandboxError,
  type Account,
  type Happening,
  type Permission,
  type RepoRecord,
  type World,
} from "./world.ts";

/** Everything a handler needs: the world, where the sandbox answers, tokens, and the webhook sender. */
export class SandboxContext {
  constructor(
    readonly world: World,
    readonly urls: Urls,
    readonly tokens: InstallationTokens,
    readonly hooks: WebhookSender,
    /** Directory holding the bare repositories as `<owner>/<name>.git`. */
    readonly gitRoot: string,
    /** SandboxOptions.mergeabilityDelayMs. */
    readonly mergeabilityDelayMs = 0,
  ) {}

  barePath(repo: RepoRecord): string {
    return path.join(this.gitRoot, repo.owner.login, `${repo.name}.git`);
  }

  /** What GitHub reports as `open_issues_count`: open issues and open pull requests. */
  openIssues(repo: RepoRecord): number {
    let count = 0;
    for (const issue of repo.issues.values()) if (issue.state === "open") count++;
    return count;
  }

  repoJson(repo: RepoRecord): Json {
    return repository(this.urls, repo, this.openIssues(repo));
  }

  /**
   * The repository `owner/name` as `actor` may see it: 404 when it does not exist or the actor has no
   * access (GitHub does not tell outsiders that a private repository exists).
   */
  visibleRepo(actor: Actor, owner: string | undefined, name: string | undefined): RepoRecord {
    const repo = owner && name ? this.world.repo(owner, name) : undefined;
    if (!repo) throw new SandboxError(404, "Not Found");
    if (actor.kind === "anonymous") throw new SandboxError(404, "Not Found");
    if (actor.kind === "app")
      throw new SandboxError(403, "A JSON web token cannot be used here: use an installation access token");
    if (actor.kind === "installation") {
      if (actor.installation.account.id !== repo.owner.id) throw new SandboxError(404, "Not Found");
      return repo;
    }
    if (this.world.permission(repo, actor.account) === "none") throw new SandboxError(404, "Not Found");
    return repo;
  }

  /** Throws 403 unless `account` has at least `needed` in `repo`. */
  require(repo: RepoRecord, account: Account, needed: Permission, doing: string): void {
    const has = this.world.permission(repo, account);
    if (RANK[has] < RANK[needed]) {
      throw new SandboxError(
        403,
        `${account.login} has ${has} access to ${repo.fullName}; ${doing} needs ${needed} access`,
      );
    }
  }

  has(repo: RepoRecord, account: Account, needed: Permission): boolean {
    return RANK[this.world.permission(repo, account)] >= RANK[needed];
  }

  /** Sends the webhook for a change, as GitHub would to an app installed on the repository's owner. */
  emit(happening: Happening): void {
    const app = this.world.app;
    const installation = happening.repo ? this.world.installationFor(happening.repo) : undefined;
    if (!app || (happening.repo && !installation)) return;
    const payload: Json = {
      ...(happening.action === undefined ? {} : { action: happening.action }),
      ...happening.fields,
    };
    if (happening.repo) {
      payload.repository = this.repoJson(happening.repo);
      if (happening.repo.owner.type === "Organization")
        payload.organization = organization(this.urls, happening.repo.owner);
    }
    payload.sender = user(this.urls, happening.sender);
    if (installation) {
      payload.installation =
        happening.event === "installation"
          ? installationJson(this.urls, app, installation)
          : { id: installation.id, node_id: nodeId("Installation", installation.id) };
    }
    this.hooks.send(happening.event, payload);
  }
}

export function organization(urls: Urls, account: Account): Json {
  const api = `${urls.api}/orgs/${account.login}`;
  return {
    login: account.login,
    id: account.id,
    node_id: nodeId("Organization", account.id),
    url: api,
    repos_url: `${api}/repos`,
    events_url: `${api}/events`,
    hooks_url: `${api}/hooks`,
    issues_url: `${api}/issues`,
    members_url: `${api}/members{/member}`,
    public_members_url: `${api}/public_members{/member}`,
    avatar_url: `${urls.web}/avatars/u/${account.id}`,
    description: null,
  };
}
