import { createHmac, type Hmac } from "node:crypto";
import type { IncomingMessage } from "node:http";

export type BodyRead =
  | { kind: "read"; body: Buffer; signature: string }
  | { kind: "too-large"; bytes: number }
  | { kind: "aborted" };

/**
 * Reads a request body of at most `limit` bytes, signing it with `secret` (HMAC-SHA256, hex) as it comes.
 * A body past the limit is never held: reading stops at the first byte over it (the chunks so far are let
 * go) and the caller answers and closes the connection, whatever the sender said its length was.
 */
export function readBoundedBody(request: IncomingMessage, limit: number, secret: string): Promise<BodyRead> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const hmac: Hmac = createHmac("sha256", secret);
    const finish = (result: BodyRead) => {
      request.off("data", onData);
      request.off("end", onEnd);
      request.off("error", onAborted);
      request.off("close", onAborted);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > limit) {
        chunks.length = 0;
        request.pause();
        return finish({ kind: "too-large", bytes });
      }
      chunks.push(chunk);
      hmac.update(chunk);
    };
    const onEnd = () =>
      finish({ kind: "read", body: Buffer.concat(chunks, bytes), signature: hmac.digest("hex") });
    const onAborted = () => finish({ kind: "aborted" });
    request.on("data", onData);
    request.on("end", onEnd);
    request.on("error", onAborted);
    request.on("close", onAborted);
  });
}
