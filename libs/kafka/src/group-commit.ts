/** The queue is full: the item was not queued and nothing was sent for it. */
export class GroupCommitFull extends Error {
  constructor(queued: number) {
    super(`${queued} messages already waiting to be sent`);
  }
}

export interface GroupCommitOptions {
  /** Most items per flush. */
  maxBatch: number;
  /** Most items waiting for a flush; beyond it `push` refuses at once with GroupCommitFull. */
  maxQueued: number;
}

/**
 * Group commit in front of a producer that keeps one request in flight (LazyProducer):
 * the first item goes at once, and what arrives while a flush is in Kafka goes together
 * in the next one. With one request at a time, one request per item caps the rate at one
 * item per round trip (the command API decided ~75 publishes/s at a 13 ms round trip
 * under load, docs/benchmarks.md); grouped, a flush carries everything that queued behind
 * it, so flushes grow with the load and add no wait when it is light.
 *
 * Each item's promise settles with its flush: resolved once the flush resolved (Kafka has
 * it), rejected with the flush's error. Bounded: at most `maxQueued` items wait; beyond,
 * `push` refuses at once (the caller answers "busy, retry") instead of queueing requests
 * without end while the producer falls behind.
 */
export class GroupCommit<T> {
  private readonly queue: Array<{ item: T; resolve: () => void; reject: (error: Error) => void }> = [];
  private flushing = false;

  constructor(
    private readonly flush: (items: T[]) => Promise<void>,
    private readonly options: GroupCommitOptions,
  ) {}

  /** Items waiting for a flush (not the one in flight). */
  get queued(): number {
    return this.queue.length;
  }

  push(item: T): Promise<void> {
    if (this.queue.length >= this.options.maxQueued) return Promise.reject(new GroupCommitFull(this.queue.length));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    if (this.flushing || this.queue.length === 0) return;
    this.flushing = true;
    const batch = this.queue.splice(0, this.options.maxBatch);
    let flushed: Promise<void>;
    try {
      flushed = this.flush(batch.map(({ item }) => item));
    } catch (error) {
      flushed = Promise.reject(error as Error);
    }
    flushed
      .then(
        () => batch.forEach(({ resolve }) => resolve()),
        (error: unknown) => batch.forEach(({ reject }) => reject(error as Error)),
      )
      .finally(() => {
        this.flushing = false;
        this.next();
      });
  }
}
