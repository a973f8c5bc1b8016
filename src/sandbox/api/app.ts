import { actingAccount } from "../auth.ts";
import type { SandboxContext } from "../context.ts";
import { paginate, positiveInt, type ApiRequest, type Router } from "../router.ts";
import { APP_PERMISSIONS, app as appJson, installation as installationJson } from "../shapes.ts";
import { SandboxError, type Account, type AppRecord, type InstallationRecord } from "../world.ts";

/** The app (JWT-authenticated), its installation, and installation access tokens. */
export function appRoutes(router: Router, ctx: SandboxContext): void {
  const asApp = (request: ApiRequest): AppRecord => {
    if (request.actor.kind !== "app")
      throw new SandboxError(401, "A JSON web token could not be decoded: this endpoint needs the app's JWT");
    return request.actor.app;
  };
  const installationOf = (request: ApiRequest): InstallationRecord => {
    const found = ctx.world.installations.get(positiveInt(request.params.installation_id, "installation"));
    if (!found) throw new SandboxError(404, "Not Found");
    return found;
  };

  router.add("GET", "/app", (request) => ({ status: 200, body: appJson(ctx.urls, asApp(request)) }));
  router.add("GET", "/app/installations", (request) => {
    const app = asApp(request);
    return {
      status: 200,
      body: [...ctx.world.installations.values()].map((i) => installationJson(ctx.urls, app, i)),
    };
  });
  router.add("GET", "/app/installations/{installation_id}", (request) => ({
    status: 200,
    body: installationJson(ctx.urls, asApp(request), installationOf(request)),
  }));
  router.add("POST", "/app/installations/{installation_id}/access_tokens", (request) => {
    asApp(request);
    const installation = installationOf(request);
    const { token, expiresAt } = ctx.tokens.issue(installation.id);
    return {
      status: 201,
      body: { token, expires_at: expiresAt, permissions: APP_PERMISSIONS, repository_selection: "all" },
    };
  });
  router.add("GET", "/repos/{owner}/{repo}/installation", (request) => {
    const app = asApp(request);
    const repo = ctx.world.repo(request.params.owner ?? "", request.params.repo ?? "");
    const installation = repo ? ctx.world.installationFor(repo) : undefined;
    if (!installation) throw new SandboxError(404, "Not Found");
    return { status: 200, body: installationJson(ctx.urls, app, installation) };
  });
  router.add("GET", "/installation/repositories", ({ actor }) => {
    if (actor.kind !== "installation") {
      actingAccount(actor);
      throw new SandboxError(403, "This endpoint needs an installation access token");
    }
    const repos = [...ctx.world.repos.values()].filter((r) => r.owner.id === actor.installation.account.id);
    return {
      status: 200,
      body: {
        total_count: repos.length,
        repository_selection: "all",
        repositories: repos.map((r) => ctx.repoJson(r)),
      },
    };
  });

  // What a person signed in through the app's OAuth client may reach through it: the installations
  // holding a repository they can read, and those repositories.
  const signedIn = (request: ApiRequest): Account => {
    const { actor } = request;
    if (actor.kind === "person" && actor.userToServer) return actor.account;
    if (actor.kind === "person")
      throw new SandboxError(
        403,
        "You must authenticate with an access token authorized to a GitHub App in order to list installations",
      );
    if (actor.kind === "anonymous") throw new SandboxError(401, "Requires authentication");
    throw new SandboxError(403, "Resource not accessible by integration");
  };
  const readable = (installation: InstallationRecord, who: Account) =>
    [...ctx.world.repos.values()].filter(
      (r) => r.owner.id === installation.account.id && ctx.has(r, who, "read"),
    );
  router.add("GET", "/user/installations", (request) => {
    const who = signedIn(request);
    const app = ctx.world.app;
    const mine = [...ctx.world.installations.values()].filter((i) => readable(i, who).length > 0);
    const { page, headers } = paginate(mine, request.query, `${ctx.urls.api}/user/installations`);
    return {
      status: 200,
      headers,
      body: {
        total_count: mine.length,
        installations: app ? page.map((i) => installationJson(ctx.urls, app, i)) : [],
      },
    };
  });
  router.add("GET", "/user/installations/{installation_id}/repositories", (request) => {
    const who = signedIn(request);
    const installation = installationOf(request);
    const repos = readable(installation, who);
    if (repos.length === 0) throw new SandboxError(404, "Not Found");
    const { page, headers } = paginate(
      repos,
      request.query,
      `${ctx.urls.api}/user/installations/${installation.id}/repositories`,
    );
    return {
      status: 200,
      headers,
      body: {
        total_count: repos.length,
        repository_selection: "all",
        repositories: page.map((r) => ({
          ...ctx.repoJson(r),
          permissions: {
            admin: ctx.has(r, who, "admin"),
            maintain: ctx.has(r, who, "maintain"),
            push: ctx.has(r, who, "write"),
            triage: ctx.has(r, who, "triage"),
            pull: true,
          },
        })),
      },
    };
  });
}
