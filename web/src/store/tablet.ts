import { v4 as uuid } from 'uuid';
import {
  DEFAULT_NOTICE_MAX_AGE_DAYS,
  isLive,
  isRetryable,
  servesAny,
  type Ack,
  type FeedItem,
  type FeedMessage,
  type ReceiptKind,
  type Reminder,
  type StaffFeed,
  type StaffSession,
} from '@lastmeter/contracts';
import { ConnectRefused, TerminalClient, type CursorStore } from '@lastmeter/terminal-client';
import { byteLength, FEED_BUDGET_BYTES, itemsToDrop } from './feed-budget';
import { nextMessage } from './outbox-order';
import { ApiError, read, write } from '../shared/api';
import { uploadResumable } from '../shared/media';
import type { EnrolledDevice } from '../shared/EnrollForm';
import { interrupts } from '../shared/priority';
import { deleteFeedDb, FeedDb, type FeedState, type OutboxEntry, type PendingUpload, type Progress } from './feed-db';

/** A signed-in person is signed out after this long without a touch (issue 21). */
export const STAFF_IDLE_MS = 2 * 60_000;

/** Who is signed in on this shared tablet, and what they did. */
interface Person {
  session: StaffSession;
  /** Their own progress (what the tablet did before, or others did, is not theirs). */
  progress: Record<string, Progress>;
  /** Live items for their roles the tablet itself is not shown (restricted to roles). */
  extra: Record<string, FeedItem>;
}

/** After an `unavailable` refusal, the next connect. */
const UNAVAILABLE_RETRY_MS = 5_000;

export type { Progress } from './feed-db';

/** Whether this tablet's completion of a task stands: this revision, and after head office's last rejection. */
export function isCompleted(item: FeedItem, progress: Progress | undefined): boolean {
  return (
    (progress?.completed ?? 0) >= item.communication.revision &&
    (progress?.completedAttempt ?? 0) >= (item.evidenceRejected?.rejection ?? 0)
  );
}

/** What enrollment gave this device. */
export type Device = EnrolledDevice;

type ReceiptEntry = Extract<OutboxEntry, { event: 'receipt' }>;

/** What the tablet holds in memory; the device's copy is in IndexedDB (feed-db.ts). */
interface Stored {
  device: Device;
  cursor: number;
  epoch?: string;
  /** Live communications, and those that left the active list by age (until the budget needs their room). */
  items: Record<string, FeedItem>;
  progress: Record<string, Progress>;
  outbox: OutboxEntry[];
  sound: boolean;
  noticeMaxAgeDays?: number;
}

/** Before issue 16 the whole feed was in localStorage, next to the device. */
interface LegacyStored extends Omit<Stored, 'noticeMaxAgeDays'> {
  device: Device;
}

export type Connection = 'connecting' | 'online' | 'offline' | 'revoked' | 'refused';

export interface TabletSnapshot {
  device: Device;
  connection: Connection;
  refusal?: string;
  /** The feed kept on the device was read (IndexedDB answers asynchronously). */
  loaded: boolean;
  /**
   * The active list, newest entry first: live communications, without the notices with
   * no expiry older than `noticeMaxAgeDays` (they are under "Earlier items").
   */
  items: FeedItem[];
  progress: Record<string, Progress>;
  /** Facts waiting to be sent (queued while offline, or not yet acknowledged). */
  pending: number;
  /** A live set is on its way: `items` is shown once all of it has arrived. */
  receiving: boolean;
  cursor: number;
  sound: boolean;
  /** Last fact the server refused, with its reason. */
  problem?: string;
  /** A photo being uploaded before its fact is sent: the part sent, 0…1. */
  uploading?: number;
  /** Due items and the people of the store who have not acknowledged them (issue 21). */
  reminders: Reminder[];
  /** The staff member signed in (issue 21): `progress` and `items` are then theirs. */
  person?: { staffId: string; name: string; roles: string[]; toAcknowledge: number };
}

/** The device (enrollment) in localStorage; the feed is in IndexedDB (FEED_DB). */
export const STORAGE_KEY = 'lastmeter.tablet.v1';

function readStored(storage: Storage): Partial<LegacyStored> | undefined {
  try {
    return (JSON.parse(storage.getItem(STORAGE_KEY) ?? 'null') as Partial<LegacyStored> | null) ?? undefined;
  } catch {
    return undefined;
  }
}

export function loadDevice(storage: Storage = localStorage): Device | undefined {
  return readStored(storage)?.device;
}

function storeDevice(device: Device, storage: Storage): void {
  storage.setItem(STORAGE_KEY, JSON.stringify({ device }));
}

/** A freshly enrolled device starts with an empty feed at cursor 0. */
export function rememberDevice(device: Device, storage: Storage = localStorage, database?: string): void {
  storeDevice(device, storage);
  void deleteFeedDb(database).catch(() => undefined);
}

export function forgetDevice(storage: Storage = localStorage, database?: string): void {
  storage.removeItem(STORAGE_KEY);
  void deleteFeedDb(database).catch(() => undefined);
}

/**
 * A tablet upgraded in place had its feed in localStorage: moved to IndexedDB once (the
 * localStorage copy is removed only once IndexedDB has it), so it keeps its place.
 */
async function migrateLegacy(storage: Storage, db: FeedDb, terminalId: string): Promise<void> {
  const legacy = readStored(storage);
  if (!legacy?.device || typeof legacy.cursor !== 'number') return;
  if (legacy.device.terminalId === terminalId) {
    await db.write({
      state: {
        terminalId,
        cursor: legacy.cursor,
        ...(legacy.epoch ? { epoch: legacy.epoch } : {}),
        progress: legacy.progress ?? {},
        outbox: legacy.outbox ?? [],
        sound: legacy.sound ?? false,
      },
      put: Object.values(legacy.items ?? {}),
      remove: [],
      clear: true,
    });
  }
  storeDevice(legacy.device, storage);
}

/** How soon a change is shown: changes within one frame share one render. */
const PUBLISH_DELAY_MS = 16;
/** How soon a change is written to the device: changes in a burst (a snapshot) share one transaction. */
const WRITE_DELAY_MS = 50;
/** The active list is recomputed this often, so notices age out of it while the tablet runs. */
const AGE_CHECK_MS = 60_000;

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
  private db?: FeedDb;
  /** The device's copy was read (or found missing): from then on memory is the truth. */
  private loaded = false;
  private loading?: Promise<void>;
  /** Each start() counts; a load finishing after stop() (or a later start) connects nothing. */
  private run = 0;
  /** Items changed since the last write (put if present, removed if not). */
  private readonly dirty = new Set<string>();
  /** All items were replaced (a snapshot, a reset, another terminal's feed): clear before writing. */
  private clearItems = false;
  private readonly itemBytes = new Map<string, number>();
  private writeTimer?: ReturnType<typeof setTimeout>;
  private publishTimer?: ReturnType<typeof setTimeout>;
  /**
   * A live set being received: items still to come, and the head it was taken at. Until
   * it is all in, nothing is rendered or written: it is shown in one go, written in one
   * transaction.
   */
  private liveSet?: { pending: number; headSeq: number };
  /** The keys of the outbox, so that queuing thousands of receipts is not quadratic. */
  private outboxKeys = new Set<string>();
  private ageTimer?: ReturnType<typeof setInterval>;
  private connection: Connection = 'connecting';
  private refusal?: string;
  private problem?: string;
  /** Made once the device's copy is read: the client takes its cursor when it is made. */
  private client?: TerminalClient;
  private readonly listeners = new Set<() => void>();
  private snapshot!: TabletSnapshot;
  private flushing = false;
  private retryTimer?: ReturnType<typeof setTimeout>;
  /** Photos waiting to be uploaded when IndexedDB is not available (lost on reload). */
  private readonly memoryUploads = new Map<string, PendingUpload>();
  private uploading?: number;
  /** The store is closed now (quiet hours): only critical items interrupt. */
  private quiet = false;
  private person?: Person;
  /** Due items with people who have not acknowledged them (issue 21), until dismissed. */
  private reminders: Reminder[] = [];
  private idleTimer?: ReturnType<typeof setTimeout>;
  constructor(
    device: Device,
    private readonly options: {
      /** Where the device (enrollment) is kept; default localStorage. */
      storage?: Storage;
      /** The IndexedDB database of the feed; default FEED_DB. */
      database?: string;
      /** Bytes the feed and its state may take on the device; default 1 MB. */
      budgetBytes?: number;
      url?: string;
      /** Called for each new urgent or critical item while sound is on and it interrupts (`interrupts`). */
      onUrgentSound?: (item: FeedItem) => void;
    } = {},
  ) {
    this.storage = options.storage ?? localStorage;
    // Filled from IndexedDB by start() before the tablet connects.
    this.stored = { device, cursor: 0, items: {}, progress: {}, outbox: [], sound: false };
    this.publish();
  }

  /** Reads the feed from the device (once), then connects. */
  start(): void {
    const run = ++this.run;
    this.ageTimer = setInterval(() => this.publish(), AGE_CHECK_MS);
    addEventListener('pagehide', this.writeNow);
    this.loading ??= this.load();
    void this.loading.then(() => {
      if (run !== this.run) return;
      this.writeNow();
      this.connect();
    });
  }

  private async load(): Promise<void> {
    const { terminalId } = this.stored.device;
    try {
      const db = await FeedDb.open(this.options.database);
      await migrateLegacy(this.storage, db, terminalId);
      const saved = await db.load();
      if (saved && saved.state.terminalId === terminalId) {
        const { state, items } = saved;
        this.stored = {
          ...this.stored,
          cursor: state.cursor,
          epoch: state.epoch,
          progress: state.progress,
          outbox: state.outbox,
          sound: state.sound,
          noticeMaxAgeDays: state.noticeMaxAgeDays,
          items: Object.fromEntries(items.map((item) => [item.communication.id, item])),
        };
        this.outboxKeys = new Set(state.outbox.map((entry) => entry.key));
        for (const item of items) this.itemBytes.set(item.communication.id, itemBytes(item));
      } else {
        // Nothing yet, or another terminal's feed: this one starts empty.
        this.clearItems = true;
      }
      this.db = db;
    } catch (error) {
      // No IndexedDB (a private window, storage refused): the tablet works from memory,
      // and never writes over a feed it could not read.
      console.warn('tablet: the feed cannot be kept on this device', error);
    } finally {
      this.loaded = true;
      this.publish();
    }
  }

  /** The Socket.IO client, from the cursor and epoch read from the device. */
  private createClient(): TerminalClient {
    const cursors: CursorStore = {
      load: () => ({ cursor: this.stored.cursor, epoch: this.stored.epoch }),
      // Persisted together with the items in receive(), not here.
      save: () => undefined,
    };
    const client = new TerminalClient({
      url: this.options.url ?? location.origin,
      token: this.stored.device.token,
      cursors,
      ackTimeoutMs: 4_000,
      attempts: 3,
    });
    client.onHello((hello) => {
      this.stored.epoch = hello.epoch;
      this.stored.noticeMaxAgeDays = hello.noticeMaxAgeDays;
      // No cursor (a new tablet) or an untrusted one: the store's live set follows,
      // taken at headSeq. It replaces what the tablet shows, instead of the whole history.
      // Its head becomes the cursor once all of it has arrived (receive()): a socket lost
      // half-way comes back with the old cursor and gets the whole live set again.
      this.liveSet = undefined;
      if (hello.snapshot !== undefined) {
        this.clearAllItems();
        this.liveSet = { pending: hello.snapshot, headSeq: hello.headSeq };
        if (hello.snapshot === 0) this.liveSetReceived();
      }
      this.save();
      this.setConnection('online');
      void this.flush();
    });
    // A renewed device token comes with hello past half of its age: keep it on the device.
    client.onToken((token) => {
      this.stored.device = { ...this.stored.device, token };
      storeDevice(this.stored.device, this.storage);
      this.publish();
    });
    client.onTokenExpired(() => {
      this.refusal = 'token-expired';
      this.setConnection('refused');
      client.close();
    });
    client.onItem((message) => this.receive(message));
    client.onReminder((reminder) => {
      // The latest per communication; a sound when sound is on, like an urgent item.
      this.reminders = [...this.reminders.filter((r) => r.communicationId !== reminder.communicationId), reminder];
      const item = this.stored.items[reminder.communicationId];
      if (item && this.stored.sound) this.options.onUrgentSound?.(item);
      this.publish();
    });
    client.onRevoked(() => {
      this.setConnection('revoked');
      client.close();
    });
    client.socket.on('disconnect', () => {
      // Cut short: what arrived of the live set is shown, the cursor stays where it was.
      if (this.liveSet) {
        this.liveSet = undefined;
        this.save();
      }
      if (this.connection === 'online') this.setConnection('offline');
    });
    client.socket.io.on('reconnect_attempt', () => {
      if (this.connection === 'online') this.setConnection('offline');
    });
    return client;
  }

  private connect(): void {
    this.client ??= this.createClient();
    const run = this.run;
    this.client.connect().catch((error: unknown) => {
      if (error instanceof ConnectRefused && error.reason === 'unavailable') {
        // The gateway could not check this tablet just now: offline, and try again.
        this.setConnection('offline');
        setTimeout(() => run === this.run && this.connect(), UNAVAILABLE_RETRY_MS);
      } else if (error instanceof ConnectRefused && error.reason !== 'unknown') {
        this.refusal = error.reason;
        this.setConnection(error.reason === 'terminal-revoked' ? 'revoked' : 'refused');
      } else {
        // Not refused, just not reachable: Socket.IO keeps trying.
        this.setConnection('offline');
      }
    });
  }

  stop(): void {
    clearTimeout(this.idleTimer);
    this.run++;
    clearTimeout(this.retryTimer);
    clearInterval(this.ageTimer);
    removeEventListener('pagehide', this.writeNow);
    this.client?.close();
    this.writeNow();
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

  /** Whether the store is outside its opening hours now (the view knows the hours and the clock). */
  setQuiet(quiet: boolean): void {
    this.quiet = quiet;
  }

  /**
   * A staff member signs in with their PIN (issue 21): from then on what is opened,
   * acknowledged, completed or answered here is theirs, until they sign out or leave the
   * tablet alone for STAFF_IDLE_MS. Throws the server's refusal (wrong PIN with
   * `attemptsLeft`, locked, too many tries).
   */
  async signIn(staffId: string, pin: string): Promise<void> {
    const { device } = this.stored;
    const session = await write<StaffSession>('POST', `/v1/stores/${device.storeId}/staff/${staffId}/sign-in`, {
      token: device.token,
      body: { pin },
    });
    const feed = await read<StaffFeed>(`/v1/stores/${device.storeId}/staff/${staffId}/feed`, device.token, undefined, {
      'x-staff-session': session.token,
    });
    const acknowledged = new Set(feed.acknowledged);
    const progress: Record<string, Progress> = {};
    const extra: Record<string, FeedItem> = {};
    for (const item of feed.items) {
      const { id, revision } = item.communication;
      if (acknowledged.has(id)) progress[id] = { read: revision, acknowledged: revision };
      if (!this.stored.items[id]) extra[id] = item;
    }
    this.person = { session, progress, extra };
    this.touch();
    this.publish();
  }

  /** The banner of a reminder is put away. */
  dismissReminder(communicationId: string): void {
    this.reminders = this.reminders.filter((r) => r.communicationId !== communicationId);
    this.publish();
  }

  signOut(): void {
    clearTimeout(this.idleTimer);
    if (!this.person) return;
    this.person = undefined;
    this.publish();
  }

  /** A touch on the screen: a signed-in person stays signed in. */
  touch(): void {
    if (!this.person) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.signOut(), STAFF_IDLE_MS);
  }

  /** The progress of whoever acts now: the signed-in person, or the tablet itself. */
  private get progress(): Record<string, Progress> {
    return this.person?.progress ?? this.stored.progress;
  }

  private item(id: string): FeedItem | undefined {
    return this.stored.items[id] ?? this.person?.extra[id];
  }

  /** A fact of the signed-in person carries their session, under a key of theirs. */
  private asPerson<T extends object>(key: string, payload: T): { key: string; payload: T & { staff?: string } } {
    if (!this.person) return { key, payload };
    return {
      key: `${key}:staff:${this.person.session.staffId}`,
      payload: { ...payload, staff: this.person.session.token },
    };
  }

  /** Opening an item is reading it. */
  open(id: string): void {
    const item = this.item(id);
    if (!item || (this.progress[id]?.read ?? 0) >= item.communication.revision) return;
    this.mark(id, 'read', item.communication.revision);
    this.receipt(item, 'read');
  }

  /**
   * "Brief read": every item of a daily brief read at once (one receipt each, sent
   * together as one `receipts` message). Acknowledging stays per item.
   */
  readBrief(ids: string[]): void {
    for (const id of ids) this.open(id);
  }

  acknowledge(id: string): void {
    const item = this.item(id);
    if (!item) return;
    this.mark(id, 'acknowledged', item.communication.revision);
    this.receipt(item, 'acknowledged');
  }

  /**
   * Completes a task. A photo is kept on the device (IndexedDB) and queued with the
   * completion: when online, it is uploaded first (`POST /v1/media`), then the completion
   * is sent with its `photoMediaId`; offline, both wait, across reloads.
   */
  async complete(id: string, evidence: { note?: string; photo?: { blob: Blob; name: string } }): Promise<void> {
    const item = this.item(id);
    if (!item) return;
    const { revision } = item.communication;
    // After head office sent the evidence back, this is the retake of that rejection.
    const attempt = item.evidenceRejected?.rejection ?? 0;
    const upload = evidence.photo ? await this.keepUpload(evidence.photo) : undefined;
    this.mark(id, 'completed', revision);
    this.mark(id, 'completedAttempt', attempt);
    this.enqueue({
      ...this.asPerson(attempt ? `task.complete:${id}:${revision}:${attempt}` : `task.complete:${id}:${revision}`, {
        communicationId: id,
        revision,
        ...(evidence.note ? { note: evidence.note } : {}),
        ...(attempt ? { attempt } : {}),
      }),
      event: 'task.complete',
      ...(upload ? { upload } : {}),
    });
  }

  answer(id: string, answers: number[]): void {
    const item = this.item(id);
    if (!item) return;
    const { revision } = item.communication;
    this.mark(id, 'answered', revision);
    this.enqueue({
      ...this.asPerson(`quiz.answer:${id}:${revision}`, { communicationId: id, revision, answers }),
      event: 'quiz.answer',
    });
  }

  /**
   * The signed-in person answers a pulse survey (issue 21): sent with their session, once
   * (a second is acked duplicate), and recorded without their name.
   */
  answerSurvey(id: string, answers: Array<number | string>): void {
    const item = this.item(id);
    if (!item || !this.person) return;
    const { revision } = item.communication;
    this.mark(id, 'surveyed', revision);
    this.enqueue({
      ...this.asPerson(`survey.answer:${id}:${revision}`, { communicationId: id, revision, answers }),
      event: 'survey.answer',
    } as OutboxEntry);
  }

  /** Files a field report; a photo goes first, as with a task (see complete). */
  async fileReport(title: string, body: string, photo?: { blob: Blob; name: string }): Promise<void> {
    const reportId = uuid();
    const upload = photo ? await this.keepUpload(photo) : undefined;
    this.enqueue({
      key: `report.file:${reportId}`,
      event: 'report.file',
      payload: { reportId, title, body },
      ...(upload ? { upload } : {}),
    });
  }

  /** Keeps a photo on the device until it is uploaded; its id. */
  private async keepUpload(photo: PendingUpload): Promise<string> {
    const id = uuid();
    if (this.db) await this.db.putUpload(id, photo);
    else this.memoryUploads.set(id, photo);
    return id;
  }

  private receive(message: FeedMessage): void {
    // An item of the live set (after hello.snapshot): live now, delivered to this tablet
    // now, but not news (no sound), and the cursor is already the snapshot's head.
    if (message.snapshot) {
      if (!('hidden' in message)) {
        const item = withoutFlags(message);
        this.setItem(item);
        if (this.isActive(item)) this.receipt(item, 'delivered');
      }
      if (this.liveSet && --this.liveSet.pending <= 0) this.liveSetReceived();
      this.save();
      return;
    }
    // A live item: the gateway has sent the whole live set before it.
    this.liveSetReceived();
    if (message.reset) this.clearAllItems();
    if (!('hidden' in message)) {
      const { communication, change } = message;
      if (change === 'published' || change === 'revised') {
        const fresh = !this.stored.items[communication.id];
        const item = withoutFlags(message);
        this.setItem(item);
        // An entry already past the notice age (a tablet back after weeks offline) is
        // kept, but not shown: it was not delivered to anyone's eyes.
        if (this.isActive(item)) {
          this.receipt(item, 'delivered');
          if (fresh && this.stored.sound && interrupts(communication.priority, this.quiet)) {
            this.options.onUrgentSound?.(item);
          }
        }
      } else {
        this.removeItem(communication.id);
        delete this.stored.progress[communication.id];
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
    if (!this.client) return Promise.reject(new Error('not connected yet'));
    return this.client.earlier(before, limit);
  }

  private receipt(item: FeedItem, kind: ReceiptKind): void {
    const { id, revision } = item.communication;
    // "delivered" is the tablet's: it got the item, whoever is signed in.
    const fact =
      kind === 'delivered'
        ? { key: `receipt:${id}:${kind}:${revision}`, payload: { communicationId: id, kind, revision } }
        : this.asPerson(`receipt:${id}:${kind}:${revision}`, { communicationId: id, kind, revision });
    this.enqueue(
      { ...fact, event: 'receipt' },
      // "delivered" comes by itself, item after item: those are written together.
      kind !== 'delivered',
    );
  }

  private mark(id: string, step: keyof Progress, revision: number): void {
    const progress = this.progress;
    progress[id] = { ...progress[id], [step]: revision };
  }

  /**
   * Queues a fact. What a person did (read, acknowledged, completed, answered, reported:
   * `byHand`) is written to IndexedDB at once rather than with the next batch of writes,
   * so a reload or a crash right after the tap does not lose it.
   */
  private enqueue(entry: OutboxEntry, byHand = true): void {
    if (!this.outboxKeys.has(entry.key)) {
      this.outboxKeys.add(entry.key);
      this.stored.outbox.push(entry);
    }
    this.save();
    if (byHand && !this.liveSet) this.writeNow();
    void this.flush();
  }

  /**
   * Sends queued facts while connected: receipts together as `receipts` messages (a
   * backlog after being offline goes in a few messages, not one per receipt), the other
   * facts one by one; what people did before the tablet's own "delivered" receipts
   * (`nextMessage`). What fails, or is answered "try again later", stays queued for a
   * retry or the next connection.
   */
  private async flush(): Promise<void> {
    const { client } = this;
    if (this.flushing || !client) return;
    this.flushing = true;
    try {
      while (this.connection === 'online' && this.stored.outbox.length > 0) {
        const batch = nextMessage(this.stored.outbox);
        const entry = batch[0]!;
        if (entry.upload) {
          const outcome = await this.uploadFirst(entry);
          if (outcome === 'wait') return;
          if (outcome === 'dropped') continue;
        }
        let acks: Ack[];
        try {
          acks =
            entry.event === 'receipt'
              ? await client.receipts((batch as ReceiptEntry[]).map((queued) => queued.payload))
              : [await client.send(entry.event, entry.payload)];
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
        for (const key of done) this.outboxKeys.delete(key);
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

  /**
   * Uploads the photo an outbox entry waits for, and puts its media id in the payload.
   * `wait` when it must wait (offline, server busy: retried later). A refused photo (too
   * large, not an image) drops the fact with a problem to show: the clerk takes another.
   */
  private async uploadFirst(entry: OutboxEntry): Promise<'uploaded' | 'wait' | 'dropped'> {
    const id = entry.upload!;
    const pending = this.memoryUploads.get(id) ?? (await this.db?.getUpload(id));
    if (pending) {
      try {
        this.uploading = 0;
        this.publish();
        const media = await uploadResumable(pending.blob, pending.name, this.stored.device.token, {
          key: id,
          baseUrl: this.options.url,
          onProgress: (fraction) => {
            this.uploading = fraction;
            this.publish();
          },
        });
        if (entry.event === 'task.complete') entry.payload.photoMediaId = media.mediaId;
        if (entry.event === 'report.file') {
          entry.payload.attachments = [...(entry.payload.attachments ?? []), { mediaId: media.mediaId }];
        }
      } catch (error) {
        const status = error instanceof ApiError ? error.status : 0;
        if (status === 0 || status === 408 || status === 429 || status >= 500) {
          this.retryLater();
          return 'wait';
        }
        this.problem = `The photo was refused: ${(error as Error).message}. Take it again.`;
        await this.forgetUpload(id);
        this.dropEntry(entry);
        return 'dropped';
      } finally {
        this.uploading = undefined;
        this.publish();
      }
    } else {
      this.problem = 'A photo waiting to be sent was lost on this device. Take it again.';
    }
    delete entry.upload;
    await this.forgetUpload(id);
    if (!pending) {
      this.dropEntry(entry);
      return 'dropped';
    }
    this.save();
    return 'uploaded';
  }

  private async forgetUpload(id: string): Promise<void> {
    this.memoryUploads.delete(id);
    await this.db?.deleteUpload(id).catch(() => undefined);
  }

  /** Removes an entry that will not be sent, and forgets its progress so the clerk can do it again. */
  private dropEntry(entry: OutboxEntry): void {
    this.stored.outbox = this.stored.outbox.filter((queued) => queued.key !== entry.key);
    this.outboxKeys.delete(entry.key);
    if (entry.event === 'task.complete') {
      const progress = this.stored.progress[entry.payload.communicationId];
      if (progress) {
        delete progress.completed;
        delete progress.completedAttempt;
      }
    }
    this.save();
  }

  private retryLater(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.flush(), 5_000);
  }

  private setConnection(connection: Connection): void {
    this.connection = connection;
    this.publish();
  }

  private setItem(item: FeedItem): void {
    this.stored.items[item.communication.id] = item;
    this.dirty.add(item.communication.id);
  }

  private removeItem(id: string): void {
    delete this.stored.items[id];
    this.dirty.add(id);
  }

  private clearAllItems(): void {
    this.stored.items = {};
    this.dirty.clear();
    this.itemBytes.clear();
    this.clearItems = true;
  }

  private isActive(item: FeedItem, now = new Date()): boolean {
    return isLive(item, now, this.stored.noticeMaxAgeDays ?? DEFAULT_NOTICE_MAX_AGE_DAYS);
  }

  private liveSetReceived(): void {
    if (!this.liveSet) return;
    this.stored.cursor = this.liveSet.headSeq;
    this.liveSet = undefined;
    this.save();
  }

  /**
   * Shows the change on the next frame and writes it to the device shortly, each with
   * whatever follows it; a live set once it is all in: a live set of thousands of items
   * is one render and one write, not one per item or per message.
   */
  private save(): void {
    if (this.liveSet) return;
    if (this.publishTimer === undefined) {
      this.publishTimer = setTimeout(() => {
        this.publishTimer = undefined;
        this.publish();
      }, PUBLISH_DELAY_MS);
    }
    if (this.writeTimer === undefined) this.writeTimer = setTimeout(this.writeNow, WRITE_DELAY_MS);
  }

  /**
   * Writes what changed to IndexedDB in one transaction, after keeping the whole within
   * the budget: the oldest items not in the active list go first, then (only if that is
   * not enough) the oldest active ones; "Earlier items" fetches them again. The outbox is
   * never dropped: it holds facts the store produced.
   */
  private readonly writeNow = (): void => {
    clearTimeout(this.writeTimer);
    this.writeTimer = undefined;
    if (!this.loaded || !this.db) return;
    const { device, items, ...rest } = this.stored;
    const present = [...this.dirty].filter((id) => items[id]);
    for (const id of this.dirty) if (!items[id]) this.itemBytes.delete(id);
    for (const id of present) this.itemBytes.set(id, itemBytes(items[id]));
    const remove = [...this.dirty].filter((id) => !items[id]);
    const put = new Set(present);
    const dropped = this.fitBudget();
    for (const id of dropped) {
      put.delete(id);
      remove.push(id);
    }
    const state: FeedState = { terminalId: device.terminalId, ...rest };
    const change = { state, put: [...put].map((id) => items[id]), remove, clear: this.clearItems };
    this.dirty.clear();
    this.clearItems = false;
    if (dropped.length > 0) this.publish();
    this.db.write(change).catch((error: unknown) => {
      // The database was deleted under it (forgotten, enrolled anew) or the device refused.
      console.warn('tablet: the feed could not be written to this device', error);
    });
  };

  /** Drops what does not fit in the budget (items, and the progress of gone items); returns the dropped ids. */
  private fitBudget(): string[] {
    const budget = this.options.budgetBytes ?? FEED_BUDGET_BYTES;
    const { items, progress } = this.stored;
    const fixed = () => byteLength({ ...this.stored, items: undefined, device: undefined }) + 64;
    let itemsTotal = 0;
    for (const bytes of this.itemBytes.values()) itemsTotal += bytes;
    if (fixed() + itemsTotal <= budget) return [];
    // First what nothing shows: the progress of communications the tablet no longer holds.
    for (const id of Object.keys(progress)) if (!items[id]) delete progress[id];
    const now = new Date();
    const dropped = itemsToDrop(
      Object.values(items).map((item) => ({
        id: item.communication.id,
        feedSeq: item.feedSeq,
        bytes: this.itemBytes.get(item.communication.id) ?? itemBytes(item),
        active: this.isActive(item, now),
      })),
      fixed(),
      budget,
    );
    for (const id of dropped) {
      delete items[id];
      delete progress[id];
      this.itemBytes.delete(id);
    }
    return dropped;
  }

  /** The signed-in person, and how many live items for them they have not acknowledged yet. */
  private personSummary(now: Date): NonNullable<TabletSnapshot['person']> {
    const { session, progress, extra } = this.person!;
    const theirs = [...Object.values(this.stored.items), ...Object.values(extra)].filter(
      (item) => this.isActive(item, now) && servesAny(session.roles, item.communication.roles),
    );
    // A task is done by completing it (which the server counts as acknowledging).
    const done = ({ communication: c }: FeedItem) =>
      Math.max(progress[c.id]?.acknowledged ?? 0, progress[c.id]?.completed ?? 0) >= c.revision;
    const toAcknowledge = theirs.filter((item) => !done(item)).length;
    return { staffId: session.staffId, name: session.name, roles: session.roles, toAcknowledge };
  }

  private publish(): void {
    const now = new Date();
    this.snapshot = {
      device: this.stored.device,
      connection: this.connection,
      refusal: this.refusal,
      loaded: this.loaded,
      items: [...Object.values(this.stored.items), ...Object.values(this.person?.extra ?? {})]
        .filter((item) => this.isActive(item, now))
        .sort((a, b) => b.feedSeq - a.feedSeq),
      progress: { ...this.progress },
      pending: this.stored.outbox.length,
      uploading: this.uploading,
      receiving: this.liveSet !== undefined,
      cursor: this.stored.cursor,
      sound: this.stored.sound,
      problem: this.problem,
      ...(this.person ? { person: this.personSummary(now) } : {}),
      reminders: this.reminders,
    };
    for (const listener of this.listeners) listener();
  }
}

/** What an item takes in the budget: its JSON, and a separator. */
function itemBytes(item: FeedItem): number {
  return byteLength(item) + 1;
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
