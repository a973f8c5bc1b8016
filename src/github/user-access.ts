import { Octokit } from "@octokit/rest";

/**
 * Signing a person in with the app's OAuth client (GitHub's user-to-server flow): the code GitHub sent them
 * back with becomes a token acting as them, which says who they are and which repositories they can read
 * through this app. The token is used for these reads and dropped: Drover keeps only the answer.
 */

export type OAuthClient = {
  clientId: string;
  clientSecret: string;
  /** https://github.com (or an Enterprise host, or the sandbox). */
  webUrl: string;
  /** GitHub's REST base URL. */
  apiUrl: string;
};

export type SignedInPerson = { login: string; userId: number; repos: string[] };

/** GitHub refused the code (expired, used, or not for this client), or answered something else. */
export class SignInError extends Error {
  override name = "SignInError";
}

/** GitHub's sign-in page for this client, coming back to `redirectUri` with `state`. */
export function authorizeUrl(
  client: Pick<OAuthClient, "clientId" | "webUrl">,
  options: { redirectUri: string; state: string; login?: string },
): string {
  const url = new URL("/login/oauth/authorize", client.webUrl);
  url.searchParams.set("client_id", client.clientId);
  url.searchParams.set("redirect_uri", options.redirectUri);
  url.searchParams.set("state", options.state);
  if (options.login) url.searchParams.set("login", options.login);
  return url.toString();
}

/** Who the code's person is and the repositories ("owner/name") they can read through this app. */
export async function personOfCode(
  client: OAuthClient,
  code: string,
  redirectUri: string,
): Promise<SignedInPerson> {
  const token = await exchangeCode(client, code, redirectUri);
  const octokit = new Octokit({ auth: token, baseUrl: client.apiUrl, log: quiet });
  const { data: user } = await octokit.rest.users.getAuthenticated();
  const installations = await octokit.paginate(octokit.rest.apps.listInstallationsForAuthenticatedUser, {
    per_page: 100,
  });
  const repos = new Set<string>();
  for (const installation of installations) {
    const listed = await octokit.paginate(octokit.rest.apps.listInstallationReposForAuthenticatedUser, {
      installation_id: installation.id,
      per_page: 100,
    });
    for (const repo of listed) repos.add(repo.full_name.toLowerCase());
  }
  return { login: user.login, userId: user.id, repos: [...repos].sort() };
}

async function exchangeCode(client: OAuthClient, code: string, redirectUri: string): Promise<string> {
  const response = await fetch(new URL("/login/oauth/access_token", client.webUrl), {
    method: "POST",
    headers: { accept: "application/json", "content-type": "application/json" },
    body: JSON.stringify({
      client_id: client.clientId,
      client_secret: client.clientSecret,
      code,
      redirect_uri: redirectUri,
    }),
    signal: AbortSignal.timeout(15_000),
  });
  if (!response.ok) throw new SignInError(`GitHub answered the code exchange with ${response.status}`);
  const body = (await response.json().catch(() => ({}))) as {
    access_token?: unknown;
    error?: unknown;
    error_description?: unknown;
  };
  if (typeof body.access_token === "string" && body.access_token !== "") return body.access_token;
  // GitHub says what was wrong in `error` (bad_verification_code, incorrect_client_credentials, ...).
  throw new SignInError(
    typeof body.error === "string"
      ? `GitHub refused the sign-in: ${body.error}${typeof body.error_description === "string" ? ` (${body.error_description})` : ""}`
      : "GitHub's code exchange gave no token",
  );
}

/** Octokit's default logger warns on console; these reads have nothing to say there. */
const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
