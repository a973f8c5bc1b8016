import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { PassThrough } from "node:stream";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDemo, type DemoDashboard } from "../../src/demo/run-demo.ts";
import { DEMO_ISSUES } from "../../src/demo/scenario.ts";
import { launchChromium } from "../helpers/browser.ts";
import { byLabel, parseMetrics, rawGet, samples } from "../helpers/prometheus.ts";
import { TEST_DATABASE_URL, TEST_REDIS_URL } from "../helpers/services.ts";

const ARTIFACTS = new URL("../artifacts/", import.meta.url);
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

/**
 * `drover demo --dashboard` with an agent that always fails: the roots (#1, #4) fail and everything
 * downstream waits, so the tasks hold still while Chromium looks at them and steers one.
 */
function failingDemo(look: (dashboard: DemoDashboard) => Promise<void>) {
  return runDemo({
    json: true,
    workers: 2,
    agentCommand: [process.execPath, "-e", "process.exit(3)"],
    timeoutMs: 120_000,
    keep: false,
    databaseUrl: TEST_DATABASE_URL,
    databaseName: `drover_dashboard_test_${randomBytes(4).toString("hex")}`,
    redisUrl: TEST_REDIS_URL,
    out: new PassThrough().resume(),
    dashboard: look,
  });
}

const shot = (page: Page, name: string) =>
  page.screenshot({ path: new URL(`dashboard-${name}.png`, ARTIFACTS).pathname, fullPage: true });

describe("the dashboard, in Chromium", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
    await mkdir(ARTIFACTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("shows the demo's graph, follows it live, and gives the controls to a writer only", async () => {
    let looked = false;
    await failingDemo(async (dashboard) => {
      const repo = dashboard.repo;
      const key = (n: number) => `${repo.toLowerCase()}#${n}`;

      // Nobody signed in: the sign-in page, which sends them to GitHub's sign-in and back.
      const stranger = await browser.newPage({ viewport: DESKTOP });
      await stranger.goto(dashboard.url);
      await expect
        .poll(() => stranger.locator("#sign-in").getAttribute("href"))
        .toContain("/drover/auth/login?next=");
      await stranger.close();

      // The maintainer, through the demo's signed-in link (Drover's sign-in, with the sandbox's OAuth): their
      // repository and its queue.
      const writer = await browser.newContext({ viewport: DESKTOP });
      const overview = await writer.newPage();
      await overview.goto(dashboard.signedIn);
      await expect.poll(() => overview.locator(`table.queues tr[data-repo="${repo}"]`).count()).toBe(1);
      expect(await overview.locator('td[data-state="failed"]').textContent()).toBe("2");
      await expect.poll(() => overview.locator("#feed li").count()).toBeGreaterThan(5);
      await shot(overview, "desktop-overview");

      // The graph: every demo task, coloured by state, with the blocked-by edges and the story.
      const graph = await writer.newPage();
      await graph.goto(`${dashboard.url}repos/${repo}`);
      for (const issue of DEMO_ISSUES)
        expect(await graph.locator(`.node[data-key="${key(issue.number)}"]`).count()).toBe(1);
      expect(await graph.locator(`.node[data-key="${key(1)}"]`).getAttribute("class")).toContain(
        "state-failed",
      );
      expect(await graph.locator(`.node[data-key="${key(2)}"]`).getAttribute("class")).toContain(
        "state-waiting",
      );
      expect(await graph.locator(`path.edge[data-from="${key(1)}"][data-to="${key(2)}"]`).count()).toBe(1);
      await graph.locator(`[data-toggle="${key(8)}"]`).click();
      expect(await graph.locator(`.node[data-key="${key(7)}"]`).isVisible()).toBe(false);
      await graph.locator(`[data-toggle="${key(8)}"]`).click();
      expect(await graph.locator(`.node[data-key="${key(7)}"]`).isVisible()).toBe(true);
      await expect.poll(() => graph.locator("body[data-connected]").count()).toBe(1);
      // Set in the page: a reload would lose it.
      await graph.evaluate("window.notReloaded = true");
      await shot(graph, "desktop-graph");

      // A writer pauses #2 on its page: the page says so, and the graph open beside it changes live.
      const task = await writer.newPage();
      await task.goto(`${dashboard.url}tasks/${repo}/2`);
      expect(await task.locator(".facts a").first().getAttribute("href")).toBe(
        `${dashboard.sandbox.urls.web}/${repo}/issues/2`,
      );
      const stalePause = await task.evaluate<string>(
        "document.querySelector('button[data-control=pause]').form.outerHTML",
      );
      await task.locator('button[data-control="pause"]').click();
      await expect
        .poll(() => task.locator("#control-result").textContent())
        .toContain("pause applied, by maintainer");
      expect(await task.locator("h2 .badge").first().textContent()).toBe("paused");
      await expect
        .poll(() => graph.locator(`.node[data-key="${key(2)}"]`).getAttribute("class"))
        .toContain("state-paused");
      await expect.poll(() => graph.locator("#feed li .ev-paused").count()).toBe(1);
      expect(await graph.evaluate("window.notReloaded")).toBe(true);
      await shot(task, "desktop-task");

      // The same pause from a page drawn before it (another tab): refused, and the page says why.
      await task.evaluate(
        `document.body.insertAdjacentHTML("beforeend", ${JSON.stringify(stalePause)}); document.body.lastElementChild.submit()`,
      );
      await expect
        .poll(() => task.locator("#control-result.refused").textContent())
        .toContain("/drover pause did nothing: the task is paused");

      // And resumes it: the control that applies now is offered.
      await task.locator('button[data-control="resume"]').click();
      await expect.poll(() => task.locator("#control-result").textContent()).toContain("resume applied");
      await expect
        .poll(() => graph.locator(`.node[data-key="${key(2)}"]`).getAttribute("class"))
        .toContain("state-waiting");

      // On a phone: the same pages, the graph scrolling inside its frame.
      const phone = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true });
      const phonePage = await phone.newPage();
      await phonePage.goto(dashboard.signedIn);
      await shot(phonePage, "phone-overview");
      await phonePage.goto(`${dashboard.url}repos/${repo}`);
      const frame = await phonePage.locator(".graph-scroll").boundingBox();
      expect(frame!.width).toBeLessThanOrEqual(PHONE.width);
      await shot(phonePage, "phone-graph");
      await phonePage.goto(`${dashboard.url}tasks/${repo}/1`);
      const scrollWidth = await phonePage.evaluate<number>("document.documentElement.scrollWidth");
      expect(scrollWidth).toBeLessThanOrEqual(PHONE.width);
      await shot(phonePage, "phone-task");
      await phone.close();

      // A reader (GitHub says "read"): the same task, no controls, and why.
      const reader = await browser.newContext({ viewport: DESKTOP });
      const readerTask = await reader.newPage();
      await readerTask.goto(dashboard.signInAs("reader"));
      await expect.poll(() => readerTask.locator("header .who").textContent()).toBe("reader");
      await readerTask.goto(`${dashboard.url}tasks/${repo}/2`);
      await expect.poll(() => readerTask.locator("#read-only").textContent()).toContain('"read"');
      expect(await readerTask.locator("button[data-control]").count()).toBe(0);
      await reader.close();
      await writer.close();

      // What Prometheus would scrape from the demo's Drover now, read by a Prometheus text parser: the
      // demo's tasks by state, and the six failed attempts of its two roots (three tries each).
      const web = new URL(dashboard.url);
      const scraped = await rawGet(web.hostname, Number(web.port), "/metrics");
      expect(scraped.status).toBe(200);
      const metrics = parseMetrics(scraped.body);
      expect(byLabel(metrics, "drover_tasks", "state", { repo })).toMatchObject({ failed: 2, waiting: 6 });
      const attempts = samples(metrics, "drover_attempts_total", { agent: "command" });
      expect(attempts.reduce((sum, sample) => sum + Number(sample.value), 0)).toBe(6);
      looked = true;
    });
    expect(looked).toBe(true);
  }, 240_000);
});
