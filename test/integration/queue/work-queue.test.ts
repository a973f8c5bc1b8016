import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { WorkQueue } from "../../../src/queue/queue.ts";
import { connectRedis } from "../../../src/queue/redis.ts";
import { TEST_REDIS_URL } from "../../helpers/services.ts";

/**
 * A queue closed at once after it was made (a process told to stop while still starting, or a test that
 * never used its queue) closes quietly: nothing BullMQ was still doing to start up is left to fail where
 * nobody listens, which in a worker is an unhandled rejection, and in the test suite a failed run.
 */
describe("WorkQueue.close", () => {
  const unhandled: unknown[] = [];
  const listener = (reason: unknown) => unhandled.push(reason);
  afterEach(() => {
    process.off("unhandledRejection", listener);
    unhandled.length = 0;
  });

  it("leaves no unhandled rejection behind when the queue closes before its connection is ready", async () => {
    process.on("unhandledRejection", listener);
    const errors: Error[] = [];
    for (let i = 0; i < 10; i++) {
      const connection = connectRedis(TEST_REDIS_URL);
      connection.on("error", () => {});
      const queue = new WorkQueue(connection, `drover-test-close-${i}-${process.pid}`, (e) => errors.push(e));
      await queue.close();
      await connection.quit().catch(() => connection.disconnect());
      // A rejection the close left behind comes from the connection ending: once it has ended, Node
      // reports any such rejection before the next turn of the event loop.
      if (connection.status !== "end") await once(connection, "end");
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(unhandled).toEqual([]);
    expect(errors).toEqual([]);
  });
});
