import { eq } from "drizzle-orm";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { deliveries } from "../../src/db/schema.ts";
import { getDelivery } from "../../src/db/deliveries.ts";
import { routeWebhook } from "../../src/intake/route.ts";
import { deliver, useWeb } from "../helpers/web.ts";
import { fuzzDelivery as delivery, fuzzSeed } from "../helpers/fuzz-deliveries.ts";

describe("intake fuzzed through the HTTP endpoint", () => {
  const web = useWeb();
  let runs = 0;
  const seen: Record<string, number> = {};

  it("answers every signed delivery below 500, stores what it accepts as sent, and queues nothing it refuses", async () => {
    await fc.assert(
      fc.asyncProperty(delivery, async ({ event, payload }) => {
        runs++;
        const id = `fuzz-${runs}-${Date.now()}`;
        const body = JSON.stringify(payload);
        const answer = await deliver(web.url(), { id, event, body });
        expect(answer.status, answer.body).toBeLessThan(500);

        const route = routeWebhook(event, JSON.parse(body));
        seen[route.kind] = (seen[route.kind] ?? 0) + 1;
        const jobs = web.queued().filter((job) => JSON.stringify(job.payload).includes(id));
        const [row] = await web.db().select().from(deliveries).where(eq(deliveries.id, id));
        if (route.kind === "dispatch") {
          expect(answer.status).toBe(200);
          // Lossless: the text as sent, and the payload the jobs read equal to what was sent.
          expect(row?.body).toBe(body);
          expect((await getDelivery(web.db(), id))?.payload).toEqual(JSON.parse(body));
          expect(jobs.length).toBe(route.jobs.length + route.syncs.length);
        } else {
          expect(answer.status).toBe(route.kind === "invalid" ? 422 : 200);
          expect(row).toBeUndefined();
          // Nothing, but the mirrors of the repositories the app was installed on (warm-pool, one each).
          const installed =
            route.kind === "installation" || route.kind === "repositories" ? route.added.length : 0;
          expect(jobs.map((job) => job.name)).toEqual(Array<string>(installed).fill("warm-pool"));
        }
      }),
      // A fixed seed keeps the suite repeatable; FUZZ_SEED=<n> (or FUZZ_SEED=random) explores further.
      { numRuns: 500, seed: fuzzSeed(), endOnFailure: true },
    );
    console.log(`intake fuzz: ${runs} deliveries, by route: ${JSON.stringify(seen)}`);
    // Each kind of answer was reached, so the property was tested on each.
    expect(Object.keys(seen).sort()).toEqual(["dispatch", "ignore", "installation", "invalid"]);
    expect((await fetch(`${web.url()}/healthz`)).status).toBe(200);
  }, 60_000);
});
