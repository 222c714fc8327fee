import { v4 as uuid } from 'uuid';
import {
  isRetryable,
  MAX_RECEIPTS_PER_MESSAGE,
  type Ack,
  type FeedItem,
  type FeedMessage,
  type ReceiptKind,
  type TerminalClientEvents,
} from '@lastmeter/contracts';
import { ConnectRefused, TerminalClient, type CursorStore } from '@lastmeter/terminal-client';

/** What enrollment gave this device. */
export interface Device {
  token: string;
  terminalId: string;
  storeId: string;
}

/** What this tablet has done with a communication, by the revision it did it on. */
export interface Progress {
  read?: number;
  acknowledged?: number;
  completed?: number;
  answered?: number;
}

type OutboxEntry = {
  [E in keyof TerminalClientEvents]: { key: string; event: E; payload: TerminalClientEvents[E] };
}[keyof TerminalClientEvents];
type ReceiptEntry = Extract<OutboxEntry, { event: 'receipt' }>;

/** Everything the tablet keeps on the device, written in one piece so cursor and items never disagree. */
interface Stored {
  device: Device;
  cursor: number;
  epoch?: string;
  items: Record<string, FeedItem>;
  progress: Record<string, Progress>;
  outbox: OutboxEntry[];
  sound: boolean;
}

export type Connection = 'connecting' | 'online' | 'offline' | 'revoked' | 'refused';

export interface TabletSnapshot {
  device: Device;
  connection: Connection;
  refusal?: string;
  /** Live communications, newest entry first. */
  items: FeedItem[];
  progress: Record<string, Progress>;
  /** Facts waiting to be sent (queued while offline, or not yet acknowledged). */
  pending: number;
  cursor: number;
  sound: boolean;
  /** Last fact the server refused, with its reason. */
  problem?: string;
}

export const STORAGE_KEY = 'lastmeter.tablet.v1';

function readStored(storage: Storage): Stored | undefined {
  try {
    return (JSON.parse(storage.getItem(STORAGE_KEY) ?? 'null') as Stored | null) ?? undefined;
  } catch {
    return undefined;
  }
}

export function loadDevice(storage: Storage = localStorage): Device | undefined {
  return readStored(storage)?.device;
}

/** A freshly enrolled device starts with an empty feed at cursor 0. */
export function rememberDevice(device: Device, storage: Storage = localStorage): void {
  const fresh: Stored = { device, cursor: 0, items: {}, progress: {}, outbox: [], sound: false };
  storage.setItem(STORAGE_KEY, JSON.stringify(fresh));
}

export function forgetDevice(storage: Storage = localStorage): void {
  storage.removeItem(STORAGE_KEY);
}

/**
 * A store tablet: the feed (resumed from the stored cursor on every connect, without gap
 * or duplicate: the server guarantees it, and the client drops anything at or below the
 * cursor), and an outbox of receipts and other facts that survives being offline and
 * reloads. Each fact has a deterministic key, and the server records a resend once, so
 * sending again after a lost ack is always safe.
 */
export class Tablet {
  private stored: Stored;
  private readonly storage: Storage;
  private connection: Connection = 'connecting';
  private refusal?: string;
  private problem?: string;
  private readonly client: TerminalClient;
  private readonly listeners = new Set<() => void>();
  private snapshot!: TabletSnapshot;
  private flushing = false;
  private retryTimer?: ReturnType<typeof setTimeout>;
  constructor(
    device: Device,
    private readonly options: {
      storage?: Storage;
      url?: string;
      /** Called for each new urgent item while sound is on (the banner shows regardless). */
      onUrgentSound?: (item: FeedItem) => void;
    } = {},
  ) {
    this.storage = options.storage ?? localStorage;
    const saved = readStored(this.storage);
    this.stored =
      saved && saved.device.terminalId === device.terminalId
        ? saved
        : { device, cursor: 0, items: {}, progress: {}, outbox: [], sound: false };
    const cursors: CursorStore = {
      load: () => ({ cursor: this.stored.cursor, epoch: this.stored.epoch }),
      // Persisted together with the items in receive(), not here.
      save: () => undefined,
    };
    this.client = new TerminalClient({
      url: options.url ?? location.origin,
      token: device.token,
      cursors,
      ackTimeoutMs: 4_000,
      attempts: 3,
    });
    this.client.onHello((hello) => {
      this.stored.epoch = hello.epoch;
      // No cursor (a new tablet) or an untrusted one: the store's live set follows,
      // taken at headSeq. It replaces what the tablet shows, instead of the whole history.
      if (hello.snapshot !== undefined) {
        this.stored.items = {};
        this.stored.cursor = hello.headSeq;
        this.save();
      }
      this.setConnection('online');
      void this.flush();
    });
    // A renewed device token comes with hello past half of its age: keep it on the device.
    this.client.onToken((token) => {
      this.stored.device = { ...this.stored.device, token };
      this.save();
    });
    this.client.onTokenExpired(() => {
      this.refusal = 'token-expired';
      this.setConnection('refused');
      this.client.close();
    });
    this.client.onItem((message) => this.receive(message));
    this.client.onRevoked(() => {
      this.setConnection('revoked');
      this.client.close();
    });
    this.client.socket.on('disconnect', () => {
      if (this.connection === 'online') this.setConnection('offline');
    });
    this.client.socket.io.on('reconnect_attempt', () => {
      if (this.connection === 'online') this.setConnection('offline');
    });
    this.publish();
  }

  start(): void {
    this.client.connect().catch((error: unknown) => {
      if (error instanceof ConnectRefused && error.reason !== 'unknown') {
        this.refusal = error.reason;
        this.setConnection(error.reason === 'terminal-revoked' ? 'revoked' : 'refused');
      } else {
        // Not refused, just not reachable: Socket.IO keeps trying.
        this.setConnection('offline');
      }
    });
  }

  stop(): void {
    clearTimeout(this.retryTimer);
    this.client.close();
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): TabletSnapshot => this.snapshot;

  setSound(on: boolean): void {
    this.stored.sound = on;
    this.save();
  }

  /** Opening an item is reading it. */
  open(id: string): void {
    const item = this.stored.items[id];
    if (!item || (this.stored.progress[id]?.read ?? 0) >= item.communication.revision) return;
    this.mark(id, 'read', item.communication.revision);
    this.receipt(item, 'read');
  }

  acknowledge(id: string): void {
    const item = this.stored.items[id];
    if (!item) return;
    this.mark(id, 'acknowledged', item.communication.revision);
    this.receipt(item, 'acknowledged');
  }

  complete(id: string, evidence: { note?: string; photoUrl?: string }): void {
    const item = this.stored.items[id];
    if (!item) return;
    const { revision } = item.communication;
    this.mark(id, 'completed', revision);
    this.enqueue({
      key: `task.complete:${id}:${revision}`,
      event: 'task.complete',
      payload: { communicationId: id, revision, ...evidence },
    });
  }

  answer(id: string, answers: number[]): void {
    const item = this.stored.items[id];
    if (!item) return;
    const { revision } = item.communication;
    this.mark(id, 'answered', revision);
    this.enqueue({
      key: `quiz.answer:${id}:${revision}`,
      event: 'quiz.answer',
      payload: { communicationId: id, revision, answers },
    });
  }

  fileReport(title: string, body: string): void {
    const reportId = uuid();
    this.enqueue({ key: `report.file:${reportId}`, event: 'report.file', payload: { reportId, title, body } });
  }

  private receive(message: FeedMessage): void {
    // An item of the live set (after hello.snapshot): live now, delivered to this tablet
    // now, but not news (no sound), and the cursor is already the snapshot's head.
    if (message.snapshot) {
      if (!('hidden' in message)) {
        const item = withoutFlags(message);
        this.stored.items[item.communication.id] = item;
        this.receipt(item, 'delivered');
      }
      this.save();
      return;
    }
    if (message.reset) this.stored.items = {};
    if (!('hidden' in message)) {
      const { communication, change } = message;
      if (change === 'published' || change === 'revised') {
        const fresh = !this.stored.items[communication.id];
        this.stored.items[communication.id] = withoutFlags(message);
        this.receipt(message, 'delivered');
        if (fresh && communication.priority === 'urgent' && this.stored.sound) this.options.onUrgentSound?.(message);
      } else {
        delete this.stored.items[communication.id];
      }
    }
    this.stored.cursor = message.feedSeq;
    this.save();
  }

  /**
   * Earlier entries of the store's feed, newest first (history the tablet never received
   * when it started from the live set): up to `limit` before `before` (default: before
   * everything it holds); `next` pages on. Nothing is queued for them.
   */
  earlier(before = this.stored.cursor + 1, limit?: number): Promise<{ items: FeedMessage[]; next?: number }> {
    return this.client.earlier(before, limit);
  }

  private receipt(item: FeedItem, kind: ReceiptKind): void {
    const { id, revision } = item.communication;
    this.enqueue({
      key: `receipt:${id}:${kind}:${revision}`,
      event: 'receipt',
      payload: { communicationId: id, kind, revision },
    });
  }

  private mark(id: string, step: keyof Progress, revision: number): void {
    this.stored.progress[id] = { ...this.stored.progress[id], [step]: revision };
  }

  private enqueue(entry: OutboxEntry): void {
    if (!this.stored.outbox.some((queued) => queued.key === entry.key)) this.stored.outbox.push(entry);
    this.save();
    void this.flush();
  }

  /**
   * Sends queued facts while connected: receipts together as `receipts` messages (a
   * backlog after being offline goes in a few messages, not one per receipt), the other
   * facts one by one. What fails, or is answered "try again later", stays queued for a
   * retry or the next connection.
   */
  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.connection === 'online' && this.stored.outbox.length > 0) {
        const entry = this.stored.outbox[0];
        const batch: OutboxEntry[] =
          entry.event === 'receipt'
            ? this.stored.outbox
                .filter((queued): queued is ReceiptEntry => queued.event === 'receipt')
                .slice(0, MAX_RECEIPTS_PER_MESSAGE)
            : [entry];
        let acks: Ack[];
        try {
          acks =
            entry.event === 'receipt'
              ? await this.client.receipts((batch as ReceiptEntry[]).map((queued) => queued.payload))
              : [await this.client.send(entry.event, entry.payload)];
        } catch {
          this.retryLater();
          return;
        }
        const done = new Set<string>();
        batch.forEach((queued, i) => {
          if (!acks[i].ok && isRetryable(acks[i].error)) return;
          if (!acks[i].ok) this.problem = describe(queued, acks[i]);
          done.add(queued.key);
        });
        this.stored.outbox = this.stored.outbox.filter((queued) => !done.has(queued.key));
        this.save();
        if (done.size < batch.length) {
          this.retryLater();
          return;
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private retryLater(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.flush(), 5_000);
  }

  private setConnection(connection: Connection): void {
    this.connection = connection;
    this.publish();
  }

  private save(): void {
    this.storage.setItem(STORAGE_KEY, JSON.stringify(this.stored));
    this.publish();
  }

  private publish(): void {
    this.snapshot = {
      device: this.stored.device,
      connection: this.connection,
      refusal: this.refusal,
      items: Object.values(this.stored.items).sort((a, b) => b.feedSeq - a.feedSeq),
      progress: { ...this.stored.progress },
      pending: this.stored.outbox.length,
      cursor: this.stored.cursor,
      sound: this.stored.sound,
      problem: this.problem,
    };
    for (const listener of this.listeners) listener();
  }
}

/** The item as stored: without the delivery flags of its message. */
function withoutFlags(message: FeedItem & { reset?: true; snapshot?: true }): FeedItem {
  const { reset: _reset, snapshot: _snapshot, ...item } = message;
  return item;
}

function describe(entry: OutboxEntry, ack: Ack): string {
  const fields = Object.entries(ack.error?.fields ?? {})
    .map(([field, messages]) => `${field}: ${messages.join(', ')}`)
    .join('; ');
  return `${entry.event} not recorded: ${ack.error?.message ?? 'refused'}${fields ? ` (${fields})` : ''}`;
}
