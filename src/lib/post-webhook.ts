import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from "node:dns";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { isPrivateAddress } from "./private-address.ts";

/** A target Drover must not call: its address is private (or its scheme plain http) and that is not allowed. */
export class RefusedTargetError extends Error {
  override name = "RefusedTargetError";
}

export type PostOptions = {
  /** Send to private, loopback, link-local and unique-local addresses, and over plain http. [false] */
  allowPrivate: boolean;
  /** The whole request, answer included, may take this long. */
  timeoutMs: number;
  /** Cancels the request (the worker shutting down). */
  signal?: AbortSignal | undefined;
};

/** What the receiver answered: its status (no body is kept: it is the receiver's, not ours to show). */
export type PostAnswer = { status: number };

/**
 * POSTs `body` to `url` once. Redirects are answers, not followed: a receiver that sends Drover elsewhere
 * (perhaps into a private network) gets no second request. The address checked is the one connected to,
 * from the same lookup, so a name that resolves to a public address when checked and a private one when
 * connected (DNS rebinding) is refused too. Rejects with RefusedTargetError before sending when the target
 * is not allowed, and with the network's error (or a timeout) when it cannot be reached.
 */
export async function postWebhook(
  url: string,
  body: string,
  headers: Record<string, string>,
  options: PostOptions,
): Promise<PostAnswer> {
  const target = new URL(url);
  if (target.protocol !== "https:" && target.protocol !== "http:")
    throw new RefusedTargetError(`${target.protocol} is not a scheme Drover sends webhooks over`);
  if (target.protocol === "http:" && !options.allowPrivate)
    throw new RefusedTargetError("plain http is refused; use https, or set DROVER_NOTIFY_PRIVATE=allow");
  const host = target.hostname.replace(/^\[|\]$/g, "");
  if (!options.allowPrivate && isIP(host) !== 0 && isPrivateAddress(host)) throw privateRefusal();
  const signals = [AbortSignal.timeout(options.timeoutMs), ...(options.signal ? [options.signal] : [])];
  const signal = AbortSignal.any(signals);
  const send = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise<PostAnswer>((resolve, reject) => {
    const request = send(
      target,
      {
        method: "POST",
        headers: { ...headers, "Content-Length": String(Buffer.byteLength(body)) },
        signal,
        // A fresh connection per delivery: a pooled one would skip the address check of its lookup.
        agent: false,
        ...(options.allowPrivate ? {} : { lookup: publicOnlyLookup }),
      },
      (response: IncomingMessage) => {
        // The answer's body is read and dropped, so the connection closes cleanly.
        response.on("data", () => {});
        response.on("end", () => resolve({ status: response.statusCode ?? 0 }));
        response.on("error", reject);
        // Closed before its end (the timeout, a reset): settled as no answer, never left hanging.
        response.on("close", () => reject(new Error("the answer was cut off")));
      },
    );
    request.on("error", (error) => {
      if (signal.aborted && !options.signal?.aborted)
        reject(new Error(`no answer within ${Math.round(options.timeoutMs / 1000)} s`));
      else reject(error);
    });
    request.end(body);
  });
}

function privateRefusal(): RefusedTargetError {
  return new RefusedTargetError(
    "the target's address is private, loopback or link-local; Drover sends there only with DROVER_NOTIFY_PRIVATE=allow",
  );
}

/** dns.lookup, failing when any address the name resolves to is not public. */
const publicOnlyLookup: LookupFunction = (hostname, options: LookupOptions, callback) => {
  dnsLookup(hostname, options, (error, address: string | LookupAddress[], family?: number) => {
    if (error) return callback(error, "", 0);
    const all = Array.isArray(address) ? address.map((entry) => entry.address) : [address];
    if (all.some((one) => isPrivateAddress(one))) return callback(privateRefusal(), "", 0);
    (callback as (error: null, address: string | LookupAddress[], family?: number) => void)(
      null,
      address,
      family,
    );
  });
};
