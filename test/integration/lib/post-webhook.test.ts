import { createServer, type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { postWebhook } from "../../../src/lib/post-webhook.ts";

const servers: ReturnType<typeof createServer>[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function serve(handler: RequestListener): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  const server = createServer((request, response) => {
    hits += 1;
    handler(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: () => hits };
}

const OPTIONS = { allowPrivate: true, timeoutMs: 300 };

describe("postWebhook", () => {
  it("does not follow a redirect: the answer is the 3xx, and the place it points to gets nothing", async () => {
    const elsewhere = await serve((_, response) => response.writeHead(200).end());
    const receiver = await serve((_, response) => response.writeHead(307, { location: elsewhere.url }).end());

    expect(await postWebhook(`${receiver.url}/hook`, "{}", {}, OPTIONS)).toEqual({ status: 307 });
    expect(elsewhere.hits()).toBe(0);
  });

  it("gives up on a receiver that does not answer within the timeout", async () => {
    const silent = await serve(() => {});
    const started = Date.now();

    await expect(postWebhook(`${silent.url}/hook`, "{}", {}, OPTIONS)).rejects.toThrow(/no answer within/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("gives up on a receiver that starts answering and never ends", async () => {
    const slow = await serve((_, response) => {
      response.writeHead(200);
      response.write("still going");
    });

    await expect(postWebhook(`${slow.url}/hook`, "{}", {}, OPTIONS)).rejects.toThrow();
  });

  it("refuses plain http and private addresses unless allowed, before connecting", async () => {
    const receiver = await serve((_, response) => response.writeHead(200).end());
    const refuse = { allowPrivate: false, timeoutMs: 300 };

    await expect(postWebhook(`${receiver.url}/hook`, "{}", {}, refuse)).rejects.toThrow(
      /plain http is refused/,
    );
    await expect(postWebhook(`https://169.254.169.254/latest/meta-data`, "{}", {}, refuse)).rejects.toThrow(
      /private, loopback or link-local/,
    );
    await expect(postWebhook(`https://[::1]:1/hook`, "{}", {}, refuse)).rejects.toThrow(/private/);
    expect(receiver.hits()).toBe(0);
  });
});
