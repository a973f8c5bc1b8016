import type { ApplicationFunction } from "probot";
import { receiveWebhook, type IntakeDeps } from "./intake/receive.ts";

/** The Probot app: every webhook goes through intake. The only place that subscribes to events. */
export function droverApp(deps: IntakeDeps): ApplicationFunction {
  return (app) => {
    app.onAny(async (context) => {
      await receiveWebhook(deps, { id: context.id, name: context.name, payload: context.payload });
    });
  };
}
