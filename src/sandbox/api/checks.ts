import { resolveRef } from "../git/refs.ts";
import { settleAutoMerge } from "../auto-merge.ts";
import type { SandboxContext } from "../context.ts";
import { field, paginate, positiveInt, requireString, type ApiRequest, type Router } from "../router.ts";
import { checkRun } from "../shapes.ts";
import { now, SandboxError, type CheckRunRecord } from "../world.ts";

const STATUSES = new Set(["queued", "in_progress", "completed"]);
const CONCLUSIONS = new Set([
  "action_required",
  "cancelled",
  "failure",
  "neutral",
  "success",
  "skipped",
  "stale",
  "timed_out",
]);

/** Check runs: only an installation (the app) may create or update them, as on GitHub. */
export function checkRoutes(router: Router, ctx: SandboxContext): void {
  const appOnly = (request: ApiRequest) => {
    const repo = ctx.visibleRepo(request.actor, request.params.owner, request.params.repo);
    if (request.actor.kind !== "installation")
      throw new SandboxError(403, "You must authenticate via a GitHub App.");
    const app = ctx.world.app;
    if (!app) throw new SandboxError(403, "You must authenticate via a GitHub App.");
    return { repo, app };
  };
  const apply = (record: CheckRunRecord, body: unknown) => {
    const status = field(body, "status");
    const conclusion = field(body, "conclusion");
    if (status !== undefined && !STATUSES.has(String(status)))
      throw new SandboxError(
        422,
        `Invalid request: status ${JSON.stringify(status)} is not one of ${[...STATUSES].join(", ")}`,
      );
    if (conclusion !== undefined && !CONCLUSIONS.has(String(conclusion)))
      throw new SandboxError(
        422,
        `Invalid request: conclusion ${JSON.stringify(conclusion)} is not one of ${[...CONCLUSIONS].join(", ")}`,
      );
    if (typeof status === "string") record.status = status as CheckRunRecord["status"];
    if (typeof conclusion === "string") {
      record.conclusion = conclusion;
      record.status = "completed";
    }
    if (record.status === "completed" && record.conclusion === null)
      throw new SandboxError(422, "Invalid request: a completed check run needs a conclusion");
    if (record.status === "completed") record.completedAt ??= now();
    const output = field(body, "output");
    if (output !== undefined) {
      const title = field(output, "title");
      const summary = field(output, "summary");
      const text = field(output, "text");
      if (typeof title !== "string" || typeof summary !== "string")
        throw new SandboxError(422, "Invalid request: output needs a title and a summary");
      if (summary.length > 65_535)
        throw new SandboxError(422, "Invalid request: output.summary is longer than 65535 characters");
      record.output = { title, summary, text: typeof text === "string" ? text : null };
    }
    const detailsUrl = field(body, "details_url");
    if (typeof detailsUrl === "string") record.detailsUrl = detailsUrl;
    const externalId = field(body, "external_id");
    if (typeof externalId === "string") record.externalId = externalId;
  };

  router.add("POST", "/repos/{owner}/{repo}/check-runs", async (request) => {
    const { repo, app } = appOnly(request);
    const headSha = requireString(request.body, "head_sha", "CheckRun");
    if (!/^[0-9a-f]{40}$/.test(headSha) || (await resolveRef(ctx.barePath(repo), headSha)) === null)
      throw new SandboxError(422, `No commit found for SHA: ${headSha}`, [
        { resource: "CheckRun", field: "head_sha", code: "invalid" },
      ]);
    const record: CheckRunRecord = {
      id: ctx.world.nextId(),
      repo,
      headSha,
      name: requireString(request.body, "name", "CheckRun"),
      status: "queued",
      conclusion: null,
      startedAt: now(),
      completedAt: null,
      detailsUrl: null,
      externalId: null,
      output: { title: null, summary: null, text: null },
    };
    apply(record, request.body);
    repo.checkRuns.push(record);
    const body = checkRun(ctx.urls, app, record);
    await settleAutoMerge(ctx, repo);
    return { status: 201, body };
  });
  const runOf = (request: ApiRequest) => {
    const { repo, app } = appOnly(request);
    const id = positiveInt(request.params.check_run_id, "check run");
    const record = repo.checkRuns.find((run) => run.id === id);
    if (!record) throw new SandboxError(404, "Not Found");
    return { record, app };
  };
  router.add("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}", async (request) => {
    const { record, app } = runOf(request);
    apply(record, request.body);
    const body = checkRun(ctx.urls, app, record);
    // A passing run may be what a pull request with auto-merge on was waiting for.
    await settleAutoMerge(ctx, record.repo);
    return { status: 200, body };
  });
  router.add("GET", "/repos/{owner}/{repo}/check-runs/{check_run_id}", (request) => {
    const repo = ctx.visibleRepo(request.actor, request.params.owner, request.params.repo);
    const id = positiveInt(request.params.check_run_id, "check run");
    const record = repo.checkRuns.find((run) => run.id === id);
    if (!record || !ctx.world.app) throw new SandboxError(404, "Not Found");
    return { status: 200, body: checkRun(ctx.urls, ctx.world.app, record) };
  });
  router.add("GET", "/repos/{owner}/{repo}/commits/{ref}/check-runs", async (request) => {
    const repo = ctx.visibleRepo(request.actor, request.params.owner, request.params.repo);
    const app = ctx.world.app;
    // The ref may be a sha, a branch or a tag name, as on GitHub.
    const ref = request.params.ref ?? "";
    const sha = await resolveRef(ctx.barePath(repo), ref).catch(() => null);
    if (sha === null) throw new SandboxError(422, `No commit found for SHA: ${ref}`);
    const name = request.query.get("check_name");
    const status = request.query.get("status");
    const runs = repo.checkRuns
      .filter((run) => run.headSha === sha)
      .filter((run) => name === null || run.name === name)
      .filter((run) => status === null || run.status === status);
    const { page, headers } = paginate(
      runs,
      request.query,
      `${ctx.urls.api}/repos/${repo.fullName}/commits/${encodeURIComponent(ref)}/check-runs`,
    );
    return {
      status: 200,
      body: {
        total_count: runs.length,
        check_runs: app ? page.map((run) => checkRun(ctx.urls, app, run)) : [],
      },
      headers,
    };
  });
}
