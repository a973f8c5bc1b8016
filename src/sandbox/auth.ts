import { createPublicKey, randomBytes, verify } from "node:crypto";
import { OAuthGrants } from "./oauth.ts";
import { SandboxError, type Account, type AppRecord, type InstallationRecord, type World } from "./world.ts";

/** Who is calling: the app (JWT), an installation (its token acts as the app's bot), a person, or nobody. */
export type Actor =
  | { kind: "app"; app: AppRecord }
  | { kind: "installation"; installation: InstallationRecord; account: Account }
  /** `userToServer`: a token the app's OAuth client was given (`ghu_…`), not the person's own (`ghp_…`). */
  | { kind: "person"; account: Account; userToServer?: true }
  | { kind: "anonymous" };

const TOKEN_LIFETIME_MS = 60 * 60_000;

/** Installation access tokens (`ghs_…`), issued to the app and honoured until they expire. */
export class InstallationTokens {
  /** The app's OAuth client: codes, and the user-to-server tokens given for them. */
  readonly oauth = new OAuthGrants();
  readonly #tokens = new Map<string, { installationId: number; expiresAt: number }>();

  issue(installationId: number): { token: string; expiresAt: string } {
    const token = `ghs_${randomBytes(27).toString("base64url").slice(0, 36)}`;
    const expiresAt = Date.now() + TOKEN_LIFETIME_MS;
    this.#tokens.set(token, { installationId, expiresAt });
    return { token, expiresAt: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, "Z") };
  }

  installationOf(token: string): number | undefined {
    const found = this.#tokens.get(token);
    if (!found) return undefined;
    if (found.expiresAt <= Date.now()) {
      this.#tokens.delete(token);
      return undefined;
    }
    return found.installationId;
  }
}

/** Reads `Authorization: token X`, `Bearer X` or git's `Basic base64(user:X)`. */
export function credentialOf(header: string | undefined): string | null {
  if (!header) return null;
  const [scheme, value] = header.trim().split(/\s+/, 2);
  if (!scheme || !value) return null;
  switch (scheme.toLowerCase()) {
    case "token":
    case "bearer":
      return value;
    case "basic": {
      const decoded = Buffer.from(value, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      return colon === -1 ? null : decoded.slice(colon + 1);
    }
    default:
      return null;
  }
}

export function authenticate(world: World, tokens: InstallationTokens, header: string | undefined): Actor {
  const credential = credentialOf(header);
  if (credential === null) return { kind: "anonymous" };
  if (credential.split(".").length === 3) return { kind: "app", app: verifyAppJwt(world, credential) };
  const installationId = tokens.installationOf(credential);
  if (installationId !== undefined) {
    const installation = world.installations.get(installationId);
    if (installation && world.app) return { kind: "installation", installation, account: world.app.bot };
  }
  const signedIn = tokens.oauth.accountOf(credential);
  const viaApp =
    signedIn === undefined ? undefined : [...world.accounts.values()].find((a) => a.id === signedIn);
  if (viaApp) return { kind: "person", account: viaApp, userToServer: true };
  const person = world.accountByToken(credential);
  if (person) return { kind: "person", account: person };
  throw new SandboxError(401, "Bad credentials");
}

/** Checks an app JWT as GitHub does: RS256 with the app's key, `iss` the app id, not expired, at most 10 minutes. */
function verifyAppJwt(world: World, jwt: string): AppRecord {
  const app = world.app;
  if (!app) throw new SandboxError(401, "A JSON web token could not be decoded");
  const [header, payload, signature] = jwt.split(".") as [string, string, string];
  const valid = verify(
    "RSA-SHA256",
    Buffer.from(`${header}.${payload}`),
    createPublicKey(app.publicKey),
    Buffer.from(signature, "base64url"),
  );
  if (!valid) throw new SandboxError(401, "A JSON web token could not be decoded");
  let claims: { iss?: unknown; exp?: unknown; iat?: unknown };
  try {
    claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as typeof claims;
  } catch {
    throw new SandboxError(401, "A JSON web token could not be decoded");
  }
  const seconds = Math.floor(Date.now() / 1000);
  if (String(claims.iss) !== String(app.id))
    throw new SandboxError(401, "'Issuer' claim ('iss') must be an Integer");
  if (typeof claims.exp !== "number" || claims.exp < seconds)
    throw new SandboxError(
      401,
      "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
    );
  if (typeof claims.iat !== "number" || claims.iat > seconds + 60)
    throw new SandboxError(
      401,
      "'Issued at' claim ('iat') must be an Integer representing a time in the past",
    );
  if (claims.exp - claims.iat > 600 + 60)
    throw new SandboxError(401, "'Expiration time' claim ('exp') is too far in the future");
  return app;
}

/** The account that acts: a person, or the app's bot for an installation token. */
export function actingAccount(actor: Actor): Account {
  if (actor.kind === "person" || actor.kind === "installation") return actor.account;
  if (actor.kind === "app")
    throw new SandboxError(403, "A JSON web token cannot be used here: use an installation access token");
  throw new SandboxError(401, "Requires authentication");
}
