import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { deliveries } from "../../../src/db/schema.ts";
import { useDrover } from "../../helpers/drover.ts";
import { mockInstallationToken } from "../../helpers/github.ts";
import {
  mockConfig,
  mockPermission,
  mockReply,
  originBranches,
  recorder,
  taskOf,
} from "../../helpers/github-flows.ts";
import { MAINTAINER, issueLabeled } from "../../helpers/payloads.ts";

/**
 * A drover.yml that sets the keys Drover does not act on yet, and a plain-http notify target, through the
 * real config-error path: the label event is answered on the issue with each key named, and nothing starts.
 */
describe("start-task with keys Drover does not act on yet, and a notify target it refuses", () => {
  const { db, harness, sandbox, repo, github } = useDrover();

  it("answers with each key, its value, what Drover does instead and that it should go; starts nothing", async () => {
    const sent = recorder();
    const api = github.api();
    mockInstallationToken(github.api().persist(), repo().installationId);
    mockConfig(
      api,
      [
        "notify:",
        "  - url: http://hooks.example/drover",
        "max_diff_size: 250KB",
        "max_file_size: 100KB",
        "",
      ].join("\n"),
    );
    mockPermission(api, MAINTAINER.login, "write");
    mockReply(api, sent, 5);

    await harness().receive(
      "issues",
      issueLabeled({ repo: repo(), number: 5, title: "Unsupported keys" }),
      "d-unsupported",
    );
    await harness().drain();

    expect(sent.comments).toHaveLength(1);
    const body = sent.comments[0]?.body ?? "";
    expect(body).toContain("`.github/drover.yml` is not valid");
    expect(body).toMatch(/- `notify.0.url` \(got `"http:\/\/hooks.example\/drover"`\): must use https/);
    for (const key of ["max_diff_size", "max_file_size"]) {
      expect(body).toMatch(new RegExp(`- \`${key}\` \\(got .*\\): is not supported yet: .*\\. Remove it`));
    }
    expect((await taskOf(db(), repo(), 5)).task).toBeUndefined();
    expect(await originBranches(sandbox().origin)).toEqual(["main"]);
    const [delivery] = await db().select().from(deliveries).where(eq(deliveries.id, "d-unsupported"));
    expect(delivery?.outcome).toBe("refused: invalid config");
  });
});
