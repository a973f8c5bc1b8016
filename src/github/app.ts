import type { Probot } from "probot";
import { botIdentity, botLoginOf, type BotIdentity } from "./people.ts";
import type { Octokit } from "./types.ts";

/**
 * Drover's access to GitHub from jobs, where there is no webhook context: installation clients, the
 * installation token for git (kept in memory, handed only to git's environment), and the bot identity.
 */
export class GitHubApp {
  readonly #probot: Probot;
  #identity: Promise<BotIdentity> | undefined;
  #botLogin: Promise<string> | undefined;

  constructor(probot: Probot) {
    this.#probot = probot;
  }

  installation(installationId: number): Promise<Octokit> {
    return this.#probot.auth(installationId);
  }

  /** An installation access token (Probot caches it until shortly before it expires). */
  async token(installationId: number): Promise<string> {
    const octokit = await this.installation(installationId);
    const auth = (await octokit.auth({ type: "installation" })) as { token?: string };
    if (!auth.token) throw new Error(`no installation token for installation ${installationId}`);
    return auth.token;
  }

  /** The app's bot login (`<slug>[bot]`), asked with the app's own token; read once per process. */
  botLogin(): Promise<string> {
    this.#botLogin ??= this.#probot
      .auth()
      .then(botLoginOf)
      .catch((error: unknown) => {
        this.#botLogin = undefined;
        throw error;
      });
    return this.#botLogin;
  }

  /** The app's bot user; read once per process. */
  identity(installationId: number): Promise<BotIdentity> {
    this.#identity ??= (async () => {
      const [app, installation] = await Promise.all([this.#probot.auth(), this.installation(installationId)]);
      return botIdentity(app, installation);
    })().catch((error: unknown) => {
      this.#identity = undefined;
      throw error;
    });
    return this.#identity;
  }
}
