import { randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createSession, endSession } from "../db/access.ts";
import { authorizeUrl, personOfCode, SignInError, type OAuthClient } from "../github/user-access.ts";
import { answer } from "../lib/http.ts";
import { cookieOf, SESSION_COOKIE } from "./auth.ts";
import {
  CALLBACK_PATH,
  HOME_PATH,
  localNext,
  publicOrigin,
  readStateCookie,
  setCookie,
  stateCookieValue,
} from "./sign-in-rules.ts";
import type { Route, WebContext } from "./viewer.ts";

/**
 * Signing in with GitHub, through the app's own OAuth client (the user-to-server flow):
 *   GET  /drover/auth/login[?login=&next=]  to GitHub, with a random state kept in a cookie for 10 minutes
 *   GET  /drover/auth/callback?code&state   checks the state, asks GitHub who this is and what they can read
 *                                           through the app, starts an 8-hour session, goes to `next`
 *   POST /drover/auth/logout                ends the session
 * The person's GitHub token is used for those reads and dropped: never stored, never logged.
 */

const STATE_COOKIE = "drover_sign_in";
const STATE_TTL_S = 10 * 60;
export const SESSION_TTL_MS = 8 * 60 * 60_000;
const SESSION_COOKIE_PATH = "/drover";

export function signInRoutes(context: WebContext): Route {
  return async (request, response, url) => {
    switch (url.pathname) {
      case "/drover/auth/login":
        if (request.method !== "GET") return notAllowed(response, "GET");
        login(context, request, response, url);
        return true;
      case CALLBACK_PATH:
        if (request.method !== "GET") return notAllowed(response, "GET");
        await callback(context, request, response, url);
        return true;
      case "/drover/auth/logout":
        if (request.method !== "POST") return notAllowed(response, "POST");
        await logout(context, request, response);
        return true;
      default:
        return false;
    }
  };
}

/** The app's OAuth client, when it is configured. */
function clientOf(context: WebContext): OAuthClient | null {
  const { env } = context;
  if (!env.GITHUB_CLIENT_ID || !env.GITHUB_CLIENT_SECRET) return null;
  return {
    clientId: env.GITHUB_CLIENT_ID,
    clientSecret: env.GITHUB_CLIENT_SECRET,
    webUrl: env.GITHUB_WEB_URL,
    apiUrl: env.GITHUB_API_URL ?? "https://api.github.com",
  };
}

const NOT_SET_UP =
  "signing in with GitHub is not set up: set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET to the client id " +
  "and a client secret of the GitHub App (its settings page, 'Client secrets'), add " +
  `<this Drover's address>${CALLBACK_PATH} as its callback URL, and restart. ` +
  "Or use an API token an operator issues (drover token create).";

function login(context: WebContext, request: IncomingMessage, response: ServerResponse, url: URL): void {
  const client = clientOf(context);
  if (!client) return answer(response, 503, { error: NOT_SET_UP });
  const state = randomBytes(24).toString("base64url");
  const next = localNext(url.searchParams.get("next"));
  const hint = url.searchParams.get("login") ?? "";
  const location = authorizeUrl(client, {
    redirectUri: callbackUrl(context, request),
    state,
    // GitHub pre-fills its sign-in form with it; a login is letters, digits and dashes.
    ...(/^[A-Za-z0-9-]{1,39}$/.test(hint) ? { login: hint } : {}),
  });
  response
    .writeHead(302, {
      location,
      "set-cookie": setCookie(STATE_COOKIE, stateCookieValue(state, next), {
        path: "/drover/auth",
        maxAge: STATE_TTL_S,
        secure: secure(context, request),
      }),
      "cache-control": "no-store",
    })
    .end();
}

async function callback(
  context: WebContext,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
): Promise<void> {
  const client = clientOf(context);
  if (!client) return answer(response, 503, { error: NOT_SET_UP });
  const clearState = setCookie(STATE_COOKIE, "", {
    path: "/drover/auth",
    maxAge: 0,
    secure: secure(context, request),
  });
  const refuse = (status: number, error: string) => {
    response.setHeader("set-cookie", clearState);
    answer(response, status, { error });
  };
  const denied = url.searchParams.get("error");
  if (denied)
    return refuse(
      400,
      `GitHub did not sign you in (${denied.slice(0, 100)}); start again at /drover/auth/login`,
    );
  const kept = readStateCookie(cookieOf(request, STATE_COOKIE));
  const state = url.searchParams.get("state") ?? "";
  const code = url.searchParams.get("code") ?? "";
  // The state proves this browser started this sign-in: without it, a link could sign a victim in as the
  // link's author (login CSRF).
  if (!kept || !code || !sameSecret(kept.state, state))
    return refuse(
      400,
      "this sign-in was not started from this browser, or took over 10 minutes (its state does not match); start again at /drover/auth/login",
    );
  let person;
  try {
    person = await personOfCode(client, code, callbackUrl(context, request));
  } catch (error) {
    const message = error instanceof SignInError ? error.message : "GitHub could not be reached";
    context.log.warn({ err: message }, "sign-in failed");
    return refuse(502, `${message}; start again at /drover/auth/login`);
  }
  const session = await createSession(context.db, person, SESSION_TTL_MS);
  context.log.info({ login: person.login, repos: person.repos.length }, "signed in");
  response
    .writeHead(302, {
      location: kept.next,
      "set-cookie": [
        clearState,
        setCookie(SESSION_COOKIE, session, {
          path: SESSION_COOKIE_PATH,
          maxAge: SESSION_TTL_MS / 1000,
          secure: secure(context, request),
        }),
      ],
      "cache-control": "no-store",
    })
    .end();
}

async function logout(context: WebContext, request: IncomingMessage, response: ServerResponse) {
  const session = cookieOf(request, SESSION_COOKIE);
  if (session) await endSession(context.db, session);
  response
    .writeHead(303, {
      location: HOME_PATH,
      "set-cookie": setCookie(SESSION_COOKIE, "", {
        path: SESSION_COOKIE_PATH,
        maxAge: 0,
        secure: secure(context, request),
      }),
    })
    .end();
}

function callbackUrl(context: WebContext, request: IncomingMessage): string {
  return `${publicOrigin(context.env.DROVER_PUBLIC_URL, request)}${CALLBACK_PATH}`;
}

/** Cookies are Secure when people reach Drover over https. */
function secure(context: WebContext, request: IncomingMessage): boolean {
  return publicOrigin(context.env.DROVER_PUBLIC_URL, request).startsWith("https:");
}

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function notAllowed(response: ServerResponse, allow: string): true {
  response.setHeader("allow", allow);
  answer(response, 405, { error: `use ${allow}` });
  return true;
}
