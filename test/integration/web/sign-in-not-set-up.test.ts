import { describe, expect, it } from "vitest";
import { useWeb } from "../../helpers/web.ts";

/** A Drover whose operator has not set the app's OAuth client yet. */
const web = useWeb();

describe("signing in before the OAuth client is set", () => {
  it("answers 503 saying what to set, and sends nobody to GitHub", async () => {
    const response = await fetch(`${web.url()}/drover/auth/login`, { redirect: "manual" });
    expect(response.status).toBe(503);
    const { error } = (await response.json()) as { error: string };
    expect(error).toContain("GITHUB_CLIENT_ID");
    expect(error).toContain("GITHUB_CLIENT_SECRET");
    expect(error).toContain("/drover/auth/callback");
    expect(error).toContain("drover token create");
    const callback = await fetch(`${web.url()}/drover/auth/callback?code=x&state=y`, { redirect: "manual" });
    expect(callback.status).toBe(503);
  });

  it("answers a wrong method with the one to use", async () => {
    const response = await fetch(`${web.url()}/drover/auth/logout`);
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("POST");
  });
});
