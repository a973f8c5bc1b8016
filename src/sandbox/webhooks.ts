import { createHmac, randomUUID } from "node:crypto";

export interface Delivery {
  id: string;
  event: string;
  action: string | undefined;
  payload: Record<string, unknown>;
  /** The receiver's HTTP status, or null when it could not be reached. */
  status: number | null;
  error: string | null;
  durationMs: number;
  deliveredAt: string;
}

const DELIVERY_TIMEOUT_MS = 10_000;
const HOLD_MS = 2_000;

type Queued = { id: string; event: string; payload: Record<string, unknown> };

/**
 * Sends webhooks as GitHub does: JSON, signed with the app's secret (`X-Hub-Signature-256`), one
 * delivery id each, a 10-second limit, and no retry (GitHub redelivers only when asked). Deliveries
 * go out one at a time in the order the changes happened (unless `holdBack` reorders them).
 */
export class WebhookSender {
  readonly deliveries: Delivery[] = [];
  url: string | null;
  readonly #secret: string;
  readonly #hookId: number;
  #queue: Promise<void> = Promise.resolve();
  #pending = 0;
  #onDelivery: ((delivery: Delivery) => void) | undefined;
  #holdBack: ((event: string, payload: Record<string, unknown>) => boolean) | undefined;
  #holdMs: number;
  #held:
    { delivery: Queued; timer: NodeJS.Timeout; released: Promise<void>; resolve: () => void } | undefined;

  constructor(opts: {
    url: string | null;
    secret: string;
    hookId: number;
    onDelivery?: (d: Delivery) => void;
    /**
     * For chaos runs: a delivery for which this returns true is held back and sent after the next one
     * (or after `holdMs` when none follows), as GitHub, which promises no order, may do. Default: none is.
     */
    holdBack?: (event: string, payload: Record<string, unknown>) => boolean;
    /** How long a held-back delivery waits for a next one to overtake it. Default 2 s. */
    holdMs?: number;
  }) {
    this.url = opts.url;
    this.#secret = opts.secret;
    this.#hookId = opts.hookId;
    this.#onDelivery = opts.onDelivery;
    this.#holdBack = opts.holdBack;
    this.#holdMs = opts.holdMs ?? HOLD_MS;
  }

  send(event: string, payload: Record<string, unknown>, id: string = randomUUID()): void {
    const delivery = { id, event, payload };
    const overtaking = this.#held !== undefined;
    if (!overtaking && this.#holdBack?.(event, payload)) {
      let resolve: () => void = () => {};
      const released = new Promise<void>((r) => (resolve = r));
      const timer = setTimeout(() => this.#release(), this.#holdMs);
      this.#held = { delivery, timer, released, resolve };
      return;
    }
    this.#enqueue(delivery);
    if (overtaking) this.#release();
  }

  /** Sends the held-back delivery now, after whatever overtook it. */
  #release(): void {
    const held = this.#held;
    if (!held) return;
    this.#held = undefined;
    clearTimeout(held.timer);
    this.#enqueue(held.delivery);
    held.resolve();
  }

  #enqueue({ id, event, payload }: Queued): void {
    this.#pending++;
    this.#queue = this.#queue
      .then(() => this.#deliver(id, event, payload))
      .finally(() => {
        this.#pending--;
      });
  }

  /** Sends a past delivery again with the same id, as GitHub's "Redeliver" button does. */
  redeliver(id: string): void {
    const past = this.deliveries.find((delivery) => delivery.id === id);
    if (!past) throw new Error(`no delivery ${id}`);
    this.send(past.event, past.payload, id);
  }

  /** Resolves once every delivery queued so far (a held-back one included) has been attempted. */
  async idle(): Promise<void> {
    while (this.#pending > 0 || this.#held) await (this.#held?.released ?? this.#queue);
  }

  async #deliver(id: string, event: string, payload: Record<string, unknown>): Promise<void> {
    const body = JSON.stringify(payload);
    const action = typeof payload.action === "string" ? payload.action : undefined;
    const started = performance.now();
    const delivery: Delivery = {
      id,
      event,
      action,
      payload,
      status: null,
      error: null,
      durationMs: 0,
      deliveredAt: new Date().toISOString(),
    };
    if (this.url === null) {
      delivery.error = "no webhook URL configured";
    } else {
      try {
        const installation = payload.installation as { id?: number } | undefined;
        const response = await fetch(this.url, {
          method: "POST",
          body,
          signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
          headers: {
            "content-type": "application/json",
            "user-agent": "GitHub-Hookshot/sandbox",
            "x-github-event": event,
            "x-github-delivery": id,
            "x-github-hook-id": String(this.#hookId),
            "x-github-hook-installation-target-type": "integration",
            "x-github-hook-installation-target-id": String(installation?.id ?? ""),
            "x-hub-signature": `sha1=${createHmac("sha1", this.#secret).update(body).digest("hex")}`,
            "x-hub-signature-256": `sha256=${createHmac("sha256", this.#secret).update(body).digest("hex")}`,
          },
        });
        delivery.status = response.status;
        await response.arrayBuffer();
      } catch (error) {
        delivery.error = error instanceof Error ? error.message : String(error);
      }
    }
    delivery.durationMs = Math.round(performance.now() - started);
    this.deliveries.push(delivery);
    this.#onDelivery?.(delivery);
  }
}
