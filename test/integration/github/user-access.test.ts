import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { personOfCode, SignInError, type OAuthClient } from "../../../src/github/user-access.ts";
import { startSandbox, type Sandbox } from "../../../src/sandbox/server.ts";

/** Reading who signed in, and what they can read through the app, from the sandbox's GitHub. */
let sandbox: Sandbox;
let client: OAuthClient;
const REDIRECT = "http://127.0.0.1:9/drover/auth/callback";

beforeAll(async () => {
  sandbox = await startSandbox({ webhookUrl: null });
  const env = sandbox.droverEnv();
  client = {
    clientId: env.GITHUB_CLIENT_ID ?? "",
    clientSecret: env.GITHUB_CLIENT_SECRET ?? "",
    webUrl: env.GITHUB_WEB_URL ?? "",
    apiUrl: env.GITHUB_API_URL ?? "",
  };
  const org = sandbox.world.account("acme");
  if (!org) throw new Error("no organisation");
  // More than one page of GitHub's largest (100): every page is read.
  for (let i = 0; i < 105; i++) sandbox.world.addRepo(org, `Repo-${String(i).padStart(3, "0")}`, {});
});
afterAll(async () => {
  await sandbox?.close();
});

/** A code for `login`, as GitHub's authorize page gives one. */
async function codeFor(login: string): Promise<string> {
  const url = new URL("/login/oauth/authorize", client.webUrl);
  url.search = new URLSearchParams({
    client_id: client.clientId,
    redirect_uri: REDIRECT,
    state: "s",
    login,
  }).toString();
  const response = await fetch(url, { redirect: "manual" });
  return new URL(response.headers.get("location") ?? "").searchParams.get("code") ?? "";
}

describe("personOfCode", () => {
  it("names the person and every repository they can read through the app, lower-case", async () => {
    const person = await personOfCode(client, await codeFor("reader"), REDIRECT);
    expect(person.login).toBe("reader");
    expect(person.userId).toBe(sandbox.world.account("reader")?.id);
    expect(person.repos).toHaveLength(105);
    expect(person.repos[0]).toBe("acme/repo-000");
    expect(person.repos.at(-1)).toBe("acme/repo-104");
  });

  it("gives an outsider no repository", async () => {
    expect((await personOfCode(client, await codeFor("outsider"), REDIRECT)).repos).toEqual([]);
  });

  it("says what GitHub refused: a wrong client secret, a redirect that does not match", async () => {
    await expect(
      personOfCode({ ...client, clientSecret: "wrong" }, await codeFor("reader"), REDIRECT),
    ).rejects.toThrow(
      new SignInError(
        "GitHub refused the sign-in: incorrect_client_credentials (The client_id and/or client_secret passed are incorrect.)",
      ),
    );
    await expect(
      personOfCode(client, await codeFor("reader"), "http://elsewhere.example/cb"),
    ).rejects.toThrow(/redirect_uri_mismatch/);
  });
});
