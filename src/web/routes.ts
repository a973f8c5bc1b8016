import { dashboardRoute } from "./dashboard/routes.ts";
import { eventsApi } from "./events-api.ts";
import { metricsRoute } from "./metrics.ts";
import { signInRoutes } from "./sign-in.ts";
import type { Route, WebContext } from "./viewer.ts";

/**
 * Drover's web beyond webhooks and health, in the order they are tried: each route answers its own paths.
 */
export function webRoutes(context: WebContext): Route[] {
  return [eventsApi(context), signInRoutes(context), metricsRoute(context), dashboardRoute(context)];
}
