import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { receiveWebhook, type IntakeDeps } from "./intake/receive.ts";
import { answer, webhookEndpoint } from "./intake/webhook-endpoint.ts";
import { observeIntake } from "./web/metrics.ts";
import type { Route } from "./web/viewer.ts";

export type Readiness = { ready: boolean } & Record<string, unknown>;

export type WebDeps = {
  intake: IntakeDeps;
  /** The app's webhook secret. */
  secret: string;
  /** Whether Drover can do work now (`/readyz`). */
  readiness: () => Promise<Readiness>;
  log: Logger;
  /** The API, the dashboard, metrics (src/web/routes.ts), tried in order after health. */
  routes?: readonly Route[];
};

/**
 * Drover's web process: GitHub's webhooks into intake (the only way events enter), `/healthz` (the
 * process is up) and `/readyz` (it can do work). Not Probot's server, whose webhook middleware reads a
 * body of any size before checking its signature, and logs it when the signature is wrong.
 */
export function droverWeb(deps: WebDeps): (request: IncomingMessage, response: ServerResponse) => void {
  const webhooks = webhookEndpoint({
    secret: deps.secret,
    log: deps.log,
    receive: async (delivery) => {
      const started = performance.now();
      const received = await receiveWebhook(deps.intake, delivery);
      observeIntake(delivery.name, received.outcome, (performance.now() - started) / 1000);
      return received;
    },
  });
  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    if (await webhooks(request, response)) return;
    if (request.url === "/healthz") return answer(response, 200, { status: "ok" });
    if (request.url === "/readyz") {
      const { ready, ...detail } = await deps.readiness();
      return answer(response, ready ? 200 : 503, { status: ready ? "ready" : "not ready", ...detail });
    }
    const url = new URL(request.url ?? "/", "http://drover.invalid");
    for (const route of deps.routes ?? []) if (await route(request, response, url)) return;
    answer(response, 404, { error: "not found" });
  };
  return (request, response) => {
    handle(request, response).catch((error: unknown) => {
      deps.log.error({ err: { message: (error as Error).message?.slice(0, 500) } }, "web request failed");
      if (!response.headersSent) answer(response, 500, { error: "internal error" });
      else response.destroy();
    });
  };
}
