import type { z } from "zod";
import type { JobName } from "../queue/catalog.ts";
import { ALL_STATE_LABELS } from "../graph/transitions.ts";
import { InstallationEvent, IssueClosed, IssueLabeled, PullRequestClosed } from "./payloads.ts";

/** What a webhook means for Drover, decided from the payload alone (pure, no I/O). */
export type Route =
  | {
      kind: "job";
      job: Extract<JobName, "start-task" | "close-task">;
      repoFullName: string;
      installationId: number;
    }
  | { kind: "installation"; event: InstallationEvent }
  | { kind: "ignore"; why: string }
  | { kind: "invalid"; why: string };

export function routeWebhook(name: string, payload: unknown): Route {
  const action = (payload as { action?: unknown } | null)?.action;
  const event = typeof action === "string" ? `${name}.${action}` : name;
  switch (event) {
    case "issues.labeled":
      return parse(IssueLabeled, payload, (p) =>
        // Drover's own state labels never start anything, and pull requests are not tasks.
        ALL_STATE_LABELS.includes(p.label.name) || p.label.name.startsWith("drover:")
          ? { kind: "ignore", why: "a Drover state label" }
          : p.issue.pull_request !== undefined
            ? { kind: "ignore", why: "a label on a pull request" }
            : job("start-task", p),
      );
    case "issues.closed":
      return parse(IssueClosed, payload, (p) => job("close-task", p));
    case "pull_request.closed":
      return parse(PullRequestClosed, payload, (p) =>
        p.pull_request.head.ref.startsWith("drover/")
          ? job("close-task", p)
          : { kind: "ignore", why: "not a Drover branch" },
      );
    case "installation.created":
    case "installation.deleted":
    case "installation.suspend":
    case "installation.unsuspend":
    case "installation.new_permissions_accepted":
      return parse(InstallationEvent, payload, (p) => ({ kind: "installation", event: p }));
    default:
      return { kind: "ignore", why: `${event} is not an event Drover acts on` };
  }
}

function job(
  name: "start-task" | "close-task",
  p: { repository: { full_name: string }; installation: { id: number } },
): Route {
  return { kind: "job", job: name, repoFullName: p.repository.full_name, installationId: p.installation.id };
}

function parse<S extends z.ZodType>(schema: S, payload: unknown, then: (p: z.infer<S>) => Route): Route {
  const result = schema.safeParse(payload);
  if (result.success) return then(result.data);
  const first = result.error.issues[0];
  return { kind: "invalid", why: `${first?.path.join(".") || "(payload)"}: ${first?.message ?? "invalid"}` };
}
