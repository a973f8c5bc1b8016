import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Account, AppRecord, World } from "./world.ts";

/**
 * The app's OAuth client, as GitHub runs it for a GitHub App (the user-to-server flow): `/login/oauth/authorize`
 * sends the person back to the app with a code, and `/login/oauth/access_token` trades the code for a
 * token (`ghu_…`) that acts as that person. There is no consent page: the sandbox approves at once, as the
 * person the `login` parameter names (GitHub pre-fills its sign-in form with it), or the maintainer.
 */

/** A code is good for one exchange within ten minutes, as on GitHub. */
const CODE_LIFETIME_MS = 10 * 60_000;
const TOKEN_LIFETIME_MS = 8 * 60 * 60_000;
/** Who signs in when `login` names nobody: the seeded admin. */
const DEFAULT_LOGIN = "maintainer";

/** The client id GitHub shows on the app's settings page (and `GET /app` reports). */
export function oauthClientId(app: Pick<AppRecord, "id">): string {
  return `Iv1.sandbox${app.id}`;
}

type Grant = { accountId: number; redirectUri: string; expiresAt: number };

/** Codes waiting to be exchanged, and the user-to-server tokens given for them. */
export class OAuthGrants {
  /** The app's client secret: random per sandbox. */
  readonly clientSecret = randomBytes(20).toString("hex");
  readonly #codes = new Map<string, Grant>();
  readonly #tokens = new Map<string, { accountId: number; expiresAt: number }>();

  grant(account: Account, redirectUri: string): string {
    const code = randomBytes(10).toString("hex");
    this.#codes.set(code, { accountId: account.id, redirectUri, expiresAt: Date.now() + CODE_LIFETIME_MS });
    return code;
  }

  /** The grant behind `code`, used up: a code is exchanged once. */
  take(code: string): Grant | undefined {
    const grant = this.#codes.get(code);
    this.#codes.delete(code);
    return grant && grant.expiresAt > Date.now() ? grant : undefined;
  }

  issue(accountId: number): string {
    const token = `ghu_${randomBytes(27).toString("base64url").slice(0, 36)}`;
    this.#tokens.set(token, { accountId, expiresAt: Date.now() + TOKEN_LIFETIME_MS });
    return token;
  }

  /** The person a user-to-server token acts as, while it is good. */
  accountOf(token: string): number | undefined {
    const found = this.#tokens.get(token);
    if (!found) return undefined;
    if (found.expiresAt <= Date.now()) {
      this.#tokens.delete(token);
      return undefined;
    }
    return found.accountId;
  }
}

export const OAUTH_PATHS = new Set(["/login/oauth/authorize", "/login/oauth/access_token"]);

/** Answers `/login/oauth/authorize` (GET) and `/login/oauth/access_token` (POST). */
export async function serveOAuth(
  world: World,
  grants: OAuthGrants,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
): Promise<void> {
  if (url.pathname === "/login/oauth/authorize" && request.method === "GET")
    return authorize(world, grants, url.searchParams, response);
  if (url.pathname === "/login/oauth/access_token" && request.method === "POST")
    return exchange(world, grants, await formOf(request, url), request, response);
  response.writeHead(405, { "content-type": "text/plain" }).end("Method not allowed\n");
}

function authorize(
  world: World,
  grants: OAuthGrants,
  query: URLSearchParams,
  response: ServerResponse,
): void {
  const app = world.app;
  const page = (status: number, text: string) =>
    void response.writeHead(status, { "content-type": "text/plain; charset=utf-8" }).end(`${text}\n`);
  if (!app || query.get("client_id") !== oauthClientId(app))
    return page(404, "The client_id does not name this sandbox's app (see `GET /app`'s client_id).");
  const redirectUri = query.get("redirect_uri") ?? "";
  // GitHub falls back to the callback URL registered on the app; the sandbox has none registered.
  if (!/^https?:\/\//.test(redirectUri))
    return page(400, "redirect_uri is required: the sandbox's app has no callback URL registered.");
  const login = query.get("login") || DEFAULT_LOGIN;
  const account = world.account(login);
  if (!account || account.type !== "User") return page(404, `The sandbox has no user ${login}.`);
  const target = new URL(redirectUri);
  target.searchParams.set("code", grants.grant(account, redirectUri));
  const state = query.get("state");
  if (state !== null) target.searchParams.set("state", state);
  response.writeHead(302, { location: target.toString() }).end();
}

function exchange(
  world: World,
  grants: OAuthGrants,
  form: URLSearchParams,
  request: IncomingMessage,
  response: ServerResponse,
): void {
  const app = world.app;
  // GitHub answers these with 200 and an `error` field, not an HTTP error.
  let answer: Record<string, string>;
  if (
    !app ||
    form.get("client_id") !== oauthClientId(app) ||
    form.get("client_secret") !== grants.clientSecret
  ) {
    answer = {
      error: "incorrect_client_credentials",
      error_description: "The client_id and/or client_secret passed are incorrect.",
      error_uri:
        "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#incorrect-client-credentials",
    };
  } else {
    const grant = grants.take(form.get("code") ?? "");
    const redirectUri = form.get("redirect_uri");
    if (!grant || (redirectUri !== null && redirectUri !== grant.redirectUri)) {
      answer = grant
        ? {
            error: "redirect_uri_mismatch",
            error_description:
              "The redirect_uri MUST match the registered callback URL for this application.",
            error_uri:
              "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#redirect-uri-mismatch2",
          }
        : {
            error: "bad_verification_code",
            error_description: "The code passed is incorrect or expired.",
            error_uri:
              "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code",
          };
    } else {
      answer = { access_token: grants.issue(grant.accountId), token_type: "bearer", scope: "" };
    }
  }
  // Form-encoded unless JSON is asked for, as GitHub answers.
  const json = /json/.test(String(request.headers.accept ?? ""));
  const text = json ? JSON.stringify(answer) : new URLSearchParams(answer).toString();
  response
    .writeHead(200, {
      "content-type": json
        ? "application/json; charset=utf-8"
        : "application/x-www-form-urlencoded; charset=utf-8",
    })
    .end(text);
}

/** The exchange's parameters: a JSON or form body, or the query string (GitHub takes each). */
async function formOf(request: IncomingMessage, url: URL): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 64 * 1024) break;
    chunks.push(chunk);
  }
  const raw = Buffer.concat(chunks).toString("utf8");
  const form = new URLSearchParams(url.searchParams);
  if (/json/.test(String(request.headers["content-type"] ?? ""))) {
    try {
      const body = JSON.parse(raw) as unknown;
      if (body && typeof body === "object")
        for (const [key, value] of Object.entries(body)) if (typeof value === "string") form.set(key, value);
    } catch {
      // Not JSON after all: no parameters from the body, and the exchange fails naming what is missing.
    }
  } else for (const [key, value] of new URLSearchParams(raw)) form.set(key, value);
  return form;
}
