import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createSession } from "../db/access.ts";
import type { Db } from "../db/client.ts";
import { SESSION_COOKIE } from "../web/auth.ts";

/** How long the demo's dashboard session lasts. */
const DEMO_SESSION_MS = 12 * 3_600_000;

export type DashboardLink = {
  /** The dashboard, for anyone (it asks to sign in). */
  url: string;
  /** Opens the dashboard signed in as the sandbox's maintainer. */
  signedIn: string;
  close: () => Promise<void>;
};

/**
 * A signed-in link to the demo's dashboard, made by the demo alone: a session for the sandbox's maintainer
 * recorded in the demo's database, and a one-page server of the demo's own (on loopback, beside Drover's
 * web) that sets its cookie and sends the browser on to the dashboard. A cookie belongs to the host, not
 * the port, so Drover's web reads it. Drover's web itself has no way in but its sign-in: nothing here is
 * part of production.
 */
export async function dashboardLink(
  db: Db,
  options: { webUrl: string; login: string; userId: number; repos: readonly string[] },
): Promise<DashboardLink> {
  const session = await createSession(
    db,
    { login: options.login, userId: options.userId, repos: options.repos },
    DEMO_SESSION_MS,
  );
  const path = `/${randomBytes(16).toString("hex")}`;
  const dashboard = `${options.webUrl}/drover/`;
  const server = createServer((request, response) => {
    if (request.url !== path) return void response.writeHead(404).end("not found\n");
    response
      .writeHead(303, {
        "set-cookie": `${SESSION_COOKIE}=${encodeURIComponent(session)}; Path=/; HttpOnly; SameSite=Lax`,
        location: dashboard,
        "cache-control": "no-store",
      })
      .end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: dashboard,
    signedIn: `http://127.0.0.1:${port}${path}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
