import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { WebhookSender } from "../../sandbox/webhooks.ts";

export type Relay = { url: string; sender: WebhookSender; close: () => Promise<void> };

/**
 * Between the sandbox and Drover's web: takes each delivery (answering at once) and sends it on, signed
 * again with the app's secret, through a WebhookSender that holds some back to reorder them.
 */
export async function startRelay(opts: {
  target: string;
  secret: string;
  holdBack: () => boolean;
}): Promise<Relay> {
  const sender = new WebhookSender({
    url: opts.target,
    secret: opts.secret,
    hookId: 1,
    holdBack: opts.holdBack,
  });
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      let payload: Record<string, unknown>;
      try {
        payload = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
      } catch {
        response.writeHead(400).end();
        return;
      }
      sender.send(
        String(request.headers["x-github-event"] ?? ""),
        payload,
        String(request.headers["x-github-delivery"] ?? ""),
      );
      response.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    sender,
    close: async () => {
      await sender.idle();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
