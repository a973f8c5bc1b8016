import { generateKeyPair } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { now, personToken, World, type Account, type Permission } from "./world.ts";

export type SandboxUser = { login: string; name: string; permission: Permission; token: string };

export type Seeded = {
  world: World;
  organization: Account;
  users: SandboxUser[];
  installationId: number;
  privateKey: string;
  privateKeyPath: string;
};

/** One person per permission level, so any test or demo can act as each. */
const PEOPLE: { login: string; name: string; permission: Permission }[] = [
  { login: "maintainer", name: "Mae Maintainer", permission: "admin" },
  { login: "developer", name: "Dev Developer", permission: "write" },
  { login: "triager", name: "Tri Triager", permission: "triage" },
  { login: "reader", name: "Rea Reader", permission: "read" },
  { login: "outsider", name: "Out Sider", permission: "none" },
];

export const APP_SLUG = "drover-sandbox";

/** The organisation, its people, the app (with a fresh key pair) and the app's installation on the organisation. */
export async function seedWorld(opts: { dir: string; organization: string }): Promise<Seeded> {
  const world = new World();
  const organization = world.addAccount({
    login: opts.organization,
    type: "Organization",
    name: opts.organization,
    permission: "none",
  });
  const users = PEOPLE.map((person) => {
    const account = world.addAccount({ ...person, type: "User", token: null });
    account.token = personToken();
    return { ...person, token: account.token };
  });

  const { publicKey, privateKey } = await promisify(generateKeyPair)("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
  });
  await mkdir(opts.dir, { recursive: true });
  const privateKeyPath = path.join(opts.dir, `${APP_SLUG}.private-key.pem`);
  await writeFile(privateKeyPath, privateKey, { mode: 0o600 });

  const bot = world.addAccount({ login: `${APP_SLUG}[bot]`, type: "Bot", name: null, permission: "none" });
  world.app = {
    id: world.nextId(),
    slug: APP_SLUG,
    name: "Drover (sandbox)",
    owner: organization,
    bot,
    publicKey,
    createdAt: now(),
  };
  const installation = { id: world.nextId(), account: organization, createdAt: now() };
  world.installations.set(installation.id, installation);
  return { world, organization, users, installationId: installation.id, privateKey, privateKeyPath };
}
