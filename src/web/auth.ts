import type { IncomingMessage } from "node:http";
import { findApiToken, findSession } from "../db/access.ts";
import type { Db } from "../db/client.ts";
import type { Viewer } from "./viewer.ts";

/** The dashboard's session cookie: a random value whose hash is in `web_sessions`. */
export const SESSION_COOKIE = "drover_session";

/** The value of cookie `name` in the request's Cookie header. */
export function cookieOf(request: IncomingMessage, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? "").split(";")) {
    const at = part.indexOf("=");
    if (at > 0 && part.slice(0, at).trim() === name) {
      try {
        return decodeURIComponent(part.slice(at + 1).trim());
      } catch {
        return undefined; // not a value Drover set
      }
    }
  }
  return undefined;
}

/**
 * Who is asking: an API token (`Authorization: Bearer drv_...`) or a signed-in person (the session cookie).
 * Null: nobody Drover knows, who sees nothing.
 */
export async function authenticate(db: Db, request: IncomingMessage): Promise<Viewer | null> {
  const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? "")?.[1];
  if (bearer) {
    const token = await findApiToken(db, bearer);
    return token
      ? {
          login: `token:${token.name}`,
          kind: "token",
          repos: token.repos ?? undefined,
          mayWrite: token.canWrite,
        }
      : null;
  }
  const cookie = cookieOf(request, SESSION_COOKIE);
  if (!cookie) return null;
  const session = await findSession(db, cookie);
  return session
    ? { login: session.login, kind: "person", repos: session.repos, mayWrite: "ask-github" }
    : null;
}
