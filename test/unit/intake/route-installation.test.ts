import { describe, expect, it } from "vitest";
import { routeWebhook } from "../../../src/intake/route.ts";
import {
  installationCreated,
  installationRepositories,
  OCTO_REPO,
  pushed,
  type TestRepo,
} from "../../helpers/payloads.ts";

const GADGETS: TestRepo = { ...OCTO_REPO, id: 4343, fullName: "octo-org/gadgets" };

describe("routing the app put on and taken off repositories", () => {
  it("names the repositories installation.created was installed on, for their mirrors", () => {
    const route = routeWebhook("installation", installationCreated({ repos: [OCTO_REPO, GADGETS] }));
    expect(route).toMatchObject({
      kind: "installation",
      event: { action: "created", installation: { id: OCTO_REPO.installationId } },
      added: [
        { id: OCTO_REPO.id, full_name: OCTO_REPO.fullName },
        { id: GADGETS.id, full_name: GADGETS.fullName },
      ],
    });
  });

  it("names no repository for the other installation actions", () => {
    const deleted = { ...installationCreated({ repos: [OCTO_REPO] }), action: "deleted" };
    expect(routeWebhook("installation", deleted)).toMatchObject({ kind: "installation", added: [] });
  });

  it("routes installation_repositories.added and .removed with the repositories of each side", () => {
    expect(
      routeWebhook(
        "installation_repositories",
        installationRepositories({ action: "added", added: [GADGETS] }),
      ),
    ).toEqual({
      kind: "repositories",
      installationId: OCTO_REPO.installationId,
      added: [{ id: GADGETS.id, full_name: GADGETS.fullName }],
      removed: [],
    });
    expect(
      routeWebhook(
        "installation_repositories",
        installationRepositories({ action: "removed", removed: [OCTO_REPO, GADGETS] }),
      ),
    ).toMatchObject({ kind: "repositories", added: [], removed: [{ id: OCTO_REPO.id }, { id: GADGETS.id }] });
  });

  it("refuses an installation_repositories event without an installation, or with a repository that is not owner/name", () => {
    const { installation: _gone, ...orphan } = installationRepositories({
      action: "added",
      added: [GADGETS],
    });
    expect(routeWebhook("installation_repositories", orphan)).toMatchObject({
      kind: "invalid",
      why: expect.stringMatching(/^installation: /),
    });
    const odd = installationRepositories({ action: "removed", removed: [{ ...GADGETS, fullName: "../x" }] });
    expect(routeWebhook("installation_repositories", odd)).toMatchObject({
      kind: "invalid",
      why: expect.stringMatching(/^repositories_removed\.0\.full_name: /),
    });
  });

  it("still follows a push whose pushed_at cannot be read (only the order of pushes hangs on it)", () => {
    const payload = pushed({ ref: "refs/heads/main", after: "c".repeat(40) });
    (payload.repository as Record<string, unknown>).pushed_at = "yesterday-ish";
    expect(routeWebhook("push", payload)).toMatchObject({ kind: "dispatch", jobs: ["follow-base"] });
  });
});
