import { createInterface } from "node:readline";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { personClient } from "../../src/demo/maintainer.ts";

const CLI = new URL("../../src/main/cli.ts", import.meta.url).pathname;

describe("drover sandbox", () => {
  it("prints one JSON line a person and Drover can use, and stops on SIGTERM", async () => {
    const child = execa(process.execPath, ["--import", "tsx", CLI, "sandbox", "--port", "0", "--quiet"], {
      reject: false,
      extendEnv: true,
    });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).once("line", resolve);
        child.once("exit", (code) => reject(new Error(`drover sandbox exited (${code}) before printing`)));
      });
      const described = JSON.parse(line) as {
        apiUrl: string;
        appId: number;
        privateKeyPath: string;
        webhookSecret: string;
        webhookUrl: string;
        users: { login: string; permission: string; token: string }[];
        oauth: { clientId: string; clientSecret: string; webUrl: string };
        env: Record<string, string>;
      };
      expect(described.users.map((u) => `${u.login}:${u.permission}`)).toEqual([
        "maintainer:admin",
        "developer:write",
        "triager:triage",
        "reader:read",
        "outsider:none",
      ]);
      expect(described.webhookUrl).toBe("http://127.0.0.1:3000/api/github/webhooks");
      expect(described.env).toEqual({
        GITHUB_API_URL: described.apiUrl,
        APP_ID: String(described.appId),
        PRIVATE_KEY_PATH: described.privateKeyPath,
        WEBHOOK_SECRET: described.webhookSecret,
        GITHUB_WEB_URL: described.apiUrl.replace("/api/v3", ""),
        GITHUB_CLIENT_ID: described.oauth.clientId,
        GITHUB_CLIENT_SECRET: described.oauth.clientSecret,
      });

      const token = described.users.find((u) => u.login === "maintainer")!.token;
      const maintainer = personClient(described.apiUrl, token);
      const { data: repo } = await maintainer.rest.repos.createInOrg({
        org: "acme",
        name: "tried",
        auto_init: true,
      });
      expect(repo.clone_url).toBe(described.apiUrl.replace("/api/v3", "/acme/tried.git"));
      const outsider = personClient(
        described.apiUrl,
        described.users.find((u) => u.login === "outsider")!.token,
      );
      await expect(outsider.rest.repos.get({ owner: "acme", repo: "tried" })).rejects.toMatchObject({
        status: 404,
      });
    } finally {
      child.kill("SIGTERM");
    }
    const result = await child;
    expect(result.exitCode).toBe(0);
  }, 30_000);
});
