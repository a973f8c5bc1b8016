import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { droverApp, startTestSandbox, type TestSandbox } from "../../helpers/sandbox.ts";

/**
 * The installation token git pushes with, asked for on a GitHub other than github.com (GitHub Enterprise
 * Server's layout, here the sandbox) by a worker that has made no other request yet: as after a restart,
 * when the first thing a worker does is check the remote for a push a crashed worker may have made.
 */
describe("GitHubApp.token", () => {
  let sandbox: TestSandbox;
  beforeAll(async () => {
    sandbox = await startTestSandbox();
  });
  afterAll(() => sandbox.close());

  it("is asked of the configured GitHub, not github.com, by a client that made no request before", async () => {
    const token = await droverApp(sandbox).token(sandbox.sandbox.installationId);

    expect(token).toMatch(/^ghs_/);
    expect(sandbox.responses).toContainEqual(
      expect.objectContaining({
        method: "POST",
        path: "/app/installations/{installation_id}/access_tokens",
        status: 201,
      }),
    );
  });
});
