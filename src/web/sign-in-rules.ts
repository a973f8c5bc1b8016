import type { IncomingMessage } from "node:http";

/**
 * The pure rules of signing in: where GitHub sends a person back, where they may go after, and the
 * cookies that carry the state between.
 */

export const CALLBACK_PATH = "/drover/auth/callback";
export const HOME_PATH = "/drover/";

/**
 * Where to go after signing in: `next` when it is a path on this Drover, else the dashboard. A full URL,
 * `//host` or `/\host` (which browsers read as another host) would send the person off-site with their
 * fresh session: an open redirect.
 */
export function localNext(next: string | null | undefined): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return HOME_PATH;
  // Control characters (a header split, a tab browsers drop) have no place in a path.
  if (next.includes("\\") || [...next].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f))
    return HOME_PATH;
  try {
    const url = new URL(next, "http://drover.invalid");
    return url.origin === "http://drover.invalid" ? `${url.pathname}${url.search}${url.hash}` : HOME_PATH;
  } catch {
    return HOME_PATH;
  }
}

/**
 * Where people reach this Drover: DROVER_PUBLIC_URL, else the address the request came to (the proxy's
 * `X-Forwarded-Proto` says whether that was https). GitHub checks the callback against the app's own
 * setting, so a forged Host header sends nobody anywhere.
 */
export function publicOrigin(publicUrl: string | undefined, request: IncomingMessage): string {
  if (publicUrl) return new URL(publicUrl).origin;
  const forwarded = String(request.headers["x-forwarded-proto"] ?? "")
    .split(",")[0]
    ?.trim();
  const scheme = forwarded === "https" ? "https" : "http";
  return `${scheme}://${request.headers.host ?? "localhost"}`;
}

export type CookieOptions = {
  path: string;
  /** Seconds; 0 removes the cookie. */
  maxAge: number;
  secure: boolean;
};

/** A Set-Cookie value: HttpOnly (no script reads it) and SameSite=Lax (no other site's POST sends it). */
export function setCookie(name: string, value: string, options: CookieOptions): string {
  return [
    `${name}=${encodeURIComponent(value)}`,
    `Path=${options.path}`,
    `Max-Age=${options.maxAge}`,
    "HttpOnly",
    "SameSite=Lax",
    ...(options.secure ? ["Secure"] : []),
  ].join("; ");
}

/** The sign-in's state cookie: the random state GitHub must send back, and where to go after. */
export function stateCookieValue(state: string, next: string): string {
  return `${state}.${Buffer.from(next).toString("base64url")}`;
}

export function readStateCookie(value: string | undefined): { state: string; next: string } | null {
  const at = value?.indexOf(".") ?? -1;
  if (value === undefined || at <= 0) return null;
  return {
    state: value.slice(0, at),
    next: localNext(Buffer.from(value.slice(at + 1), "base64url").toString("utf8")),
  };
}
