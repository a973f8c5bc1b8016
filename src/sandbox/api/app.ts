import { actingAccount } from "../auth.ts";
import type { SandboxContext } from "../context.ts";
import { positiveInt, type ApiRequest, type Router } from "../router.ts";
import { APP_PERMISSIONS, app as appJson, installation as installationJson } from "../shapes.ts";
import { SandboxError, type AppRecord, type InstallationRecord } from "../world.ts";

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
}
