import { randomBytes } from "node:crypto";
import pino from "pino";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { getRepository, upsertRepository } from "../../src/db/repositories.ts";
import { receiveWebhook, type IntakeDeps } from "../../src/intake/receive.ts";
import { enqueuer, type Enqueue, type JobName } from "../../src/queue/job-catalog.ts";
import { WorkQueue } from "../../src/queue/queue.ts";
import { connectRedis } from "../../src/queue/redis.ts";
import { useTestDatabase } from "../helpers/db.ts";
import {
  installationCreated,
  installationRepositories,
  OCTO_REPO,
  type TestRepo,
} from "../helpers/payloads.ts";
import { TEST_REDIS_URL } from "../helpers/services.ts";

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
const newId = () => randomBytes(8).toString("hex");
const GADGETS: TestRepo = { ...OCTO_REPO, id: 4343, fullName: "octo-org/gadgets" };

/** The app put on and taken off repositories: what intake records and queues (no job runs here). */
describe("intake of installation events", () => {
  const testDb = useTestDatabase();
  let connection: ReturnType<typeof connectRedis>;
  let queue: WorkQueue;
  let queued: { name: JobName; payload: unknown }[];
  let deps: IntakeDeps;

  beforeAll(() => {
    connection = connectRedis(TEST_REDIS_URL);
  });
  beforeEach(async () => {
    queue = new WorkQueue(connection, `drover-test-intake-${newId()}`, (error) =>
      log.debug({ err: error }, "queue error"),
    );
    const enqueue = enqueuer(queue);
    queued = [];
    deps = {
      db: testDb.database().db,
      log,
      enqueue: (async (name, payload, options) => {
        queued.push({ name, payload });
        await enqueue(name, payload, options);
      }) as Enqueue,
    };
    return () => queue.close();
  });
  afterAll(() => connection.disconnect());

  it("queues one warm-pool job per repository the app is installed on, on the warm lane, once per delivery", async () => {
    const id = newId();
    const payload = installationCreated({ repos: [OCTO_REPO, GADGETS] });

    expect(await receiveWebhook(deps, { id, name: "installation", payload })).toEqual({
      outcome: "installation",
    });
    // GitHub redelivered: the same jobs, not queued again.
    await receiveWebhook(deps, { id, name: "installation", payload });

    const warm = (repo: TestRepo) => ({
      name: "warm-pool",
      payload: {
        repoId: repo.id,
        cause: `install-${id}`,
        installationId: OCTO_REPO.installationId,
        repoFullName: repo.fullName,
      },
    });
    expect(queued.slice(0, 2)).toEqual([warm(OCTO_REPO), warm(GADGETS)]);
    // After the warm lane's other work (pushes, refills): an organisation's first clones come last.
    expect(await queue.state("warm", `warm-${OCTO_REPO.id}-install-${id}`)).toBe("prioritized");
    expect(await queue.state("warm", `warm-${GADGETS.id}-install-${id}`)).toBe("prioritized");
    expect((await queue.counts()).wait).toBe(2);
  });

  it("marks a repository taken off, and not any more once it is added back (and warms it)", async () => {
    await upsertRepository(deps.db, {
      id: GADGETS.id,
      installationId: GADGETS.installationId,
      fullName: GADGETS.fullName,
      cloneUrl: GADGETS.cloneUrl,
      defaultBranch: GADGETS.defaultBranch,
    });
    const removed = installationRepositories({ action: "removed", removed: [GADGETS] });
    await receiveWebhook(deps, { id: newId(), name: "installation_repositories", payload: removed });
    const removedAt = (await getRepository(deps.db, GADGETS.id))?.removedAt;
    expect(removedAt).toBeInstanceOf(Date);
    expect(queued).toEqual([]);

    // Removed twice (a redelivery): the first time is kept.
    await receiveWebhook(deps, { id: newId(), name: "installation_repositories", payload: removed });
    expect((await getRepository(deps.db, GADGETS.id))?.removedAt).toEqual(removedAt);

    const added = installationRepositories({ action: "added", added: [GADGETS] });
    await receiveWebhook(deps, { id: newId(), name: "installation_repositories", payload: added });
    expect((await getRepository(deps.db, GADGETS.id))?.removedAt).toBeNull();
    expect(queued.map((job) => job.name)).toEqual(["warm-pool"]);
  });

  it("refuses an installation_repositories event it cannot read, naming the field, and queues nothing", async () => {
    const payload = {
      ...installationRepositories({ action: "added", added: [GADGETS] }),
      installation: null,
    };
    expect(await receiveWebhook(deps, { id: newId(), name: "installation_repositories", payload })).toEqual({
      outcome: "invalid",
      why: expect.stringMatching(/^installation: /),
    });
    expect(queued).toEqual([]);
  });
});
