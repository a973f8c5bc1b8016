import type postgres from "postgres";
import type { Db } from "./client.ts";
import {
  latestSeq,
  listenForEvents,
  matchesFilter,
  readEvents,
  type DroverEvent,
  type EventFilter,
} from "./events.ts";

/** A reader of the feed: what it wants, where it is, and where events go. */
type Subscriber = {
  filter: EventFilter;
  /** The last seq given to it. */
  last: number;
  /** Replaying history: live events wait in `held` until it catches up. */
  live: boolean;
  held: DroverEvent[];
  push: (event: DroverEvent) => void;
  /** Called when the feed closes (the process stops): a stream ends its response. */
  end: () => void;
};

const PAGE = 500;
/** A notification can be lost (a connection dropped between commit and delivery): read anyway this often. */
const POLL_MS = 5_000;

/**
 * Every event, once and in commit order, to every reader in this process: one LISTEN connection and one
 * read per commit however many readers there are. A reader starts with history after its cursor (its
 * own filtered reads), then goes live without a gap or a repeat: events arriving meanwhile are held and
 * given after the history, skipping what the history already gave.
 */
export class EventFeed {
  private readonly subscribers = new Set<Subscriber>();
  private position = 0;
  private reading: Promise<void> | null = null;
  private again = false;
  private unlisten: (() => Promise<void>) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly db: Db,
    private readonly sqlClient: postgres.Sql,
    private readonly onError: (error: Error) => void = () => {},
  ) {}

  /** The last event read: a reader that wants only what happens from now starts after it. */
  get seen(): number {
    return this.position;
  }

  /** Starts listening from the newest event committed now. */
  async start(): Promise<void> {
    this.position = await latestSeq(this.db);
    this.unlisten = await listenForEvents(this.sqlClient, () => this.wake());
    this.timer = setInterval(() => this.wake(), POLL_MS);
    this.timer.unref();
  }

  /**
   * Gives `push` every event matching `filter` after `afterSeq` (history first, then live) until the
   * returned function is called, or the feed closes (then `end`). `afterSeq` null: live only, from now.
   */
  subscribe(
    filter: EventFilter,
    afterSeq: number | null,
    push: (event: DroverEvent) => void,
    end: () => void = () => {},
  ): () => void {
    if (this.closed) {
      end();
      return () => {};
    }
    const subscriber: Subscriber = {
      filter,
      last: afterSeq ?? this.position,
      live: afterSeq === null,
      held: [],
      push,
      end,
    };
    this.subscribers.add(subscriber);
    if (!subscriber.live) void this.replay(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    const subscribers = [...this.subscribers];
    this.subscribers.clear();
    for (const subscriber of subscribers) subscriber.end();
    await this.unlisten?.().catch(() => {});
    await this.reading?.catch(() => {});
  }

  private async replay(subscriber: Subscriber): Promise<void> {
    try {
      for (;;) {
        const page = await readEvents(this.db, subscriber.filter, subscriber.last, PAGE);
        for (const event of page) this.give(subscriber, event);
        if (page.length < PAGE || !this.subscribers.has(subscriber)) break;
      }
    } catch (error) {
      // Going live now would skip the rest of the history: end the reader instead; it resumes by its cursor.
      this.onError(error as Error);
      if (this.subscribers.delete(subscriber)) subscriber.end();
      return;
    }
    subscriber.live = true;
    const held = subscriber.held;
    subscriber.held = [];
    for (const event of held) this.give(subscriber, event);
  }

  private give(subscriber: Subscriber, event: DroverEvent): void {
    if (event.seq <= subscriber.last || !this.subscribers.has(subscriber)) return;
    subscriber.last = event.seq;
    subscriber.push(event);
  }

  /** Reads what was committed since the last read, once at a time; a wake meanwhile reads again after. */
  private wake(): void {
    if (this.closed) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = this.readNew()
      .catch((error: unknown) => this.onError(error as Error))
      .finally(() => {
        this.reading = null;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  private async readNew(): Promise<void> {
    for (;;) {
      const page = await readEvents(this.db, {}, this.position, PAGE);
      for (const event of page) {
        this.position = event.seq;
        for (const subscriber of this.subscribers) {
          if (!matchesFilter(event, subscriber.filter)) continue;
          if (subscriber.live) this.give(subscriber, event);
          else subscriber.held.push(event);
        }
      }
      if (page.length < PAGE) return;
    }
  }
}
