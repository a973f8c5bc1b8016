import { describe, expect, it } from "vitest";
import { readSpecIssue } from "../../../../jobs/plan/spec-issue.ts";
import type { Octokit } from "../../../../src/github/types.ts";
import { PermanentJobError } from "../../../../src/queue/queue.ts";

const repo = { owner: "acme", repo: "app" };
const answering = (get: () => Promise<unknown>) => ({ rest: { issues: { get } } }) as unknown as Octokit;
const failing = (status: number) =>
  answering(() => Promise.reject(Object.assign(new Error(`HTTP ${status}`), { status })));

describe("readSpecIssue", () => {
  it("reads the title and body, an empty body as empty text", async () => {
    const octokit = answering(() => Promise.resolve({ data: { title: "Spec", body: null } }));
    expect(await readSpecIssue(octokit, repo, 7)).toEqual({ title: "Spec", body: "" });
  });

  it("fails for good, saying why, on an issue deleted or gone from the App's sight", async () => {
    await expect(readSpecIssue(failing(410), repo, 7)).rejects.toThrow(
      new PermanentJobError("issue #7 of acme/app cannot be read (HTTP 410): it was deleted"),
    );
    const gone = readSpecIssue(failing(404), repo, 7);
    await expect(gone).rejects.toBeInstanceOf(PermanentJobError);
    await expect(gone).rejects.toThrow("the App has no access to it");
  });

  it("leaves anything else to the job's fate (tried again)", async () => {
    const error = readSpecIssue(failing(502), repo, 7);
    await expect(error).rejects.not.toBeInstanceOf(PermanentJobError);
    await expect(error).rejects.toThrow("HTTP 502");
  });
});
