import { Injectable, Logger } from '@nestjs/common';
import { ERASED_PERSON } from '@lastmeter/auth';
import type { Reminder } from '@lastmeter/contracts';
import { namedStaff } from '@lastmeter/history';
import { getCommunication, peopleOfStores } from '@lastmeter/read-models';
import { ReadModels } from '../read/read-models.service';
import { FeedRelay } from './feed-relay';
import { NotificationHub } from './notification-hub';

/** A due time this long past is history (a projector re-projecting after a loss): no reminder. */
const FRESH_MS = 10 * 60_000;

/**
 * At a communication's due time (`communication.due-reached`, announced by the projector),
 * each gateway reminds the terminals connected to it of the people of their store who
 * have not acknowledged it yet (issue 21): one `reminder` per terminal, with their names.
 */
@Injectable()
export class Reminders {
  private readonly logger = new Logger(Reminders.name);

  constructor(
    private readonly models: ReadModels,
    private readonly relay: FeedRelay,
    hub: NotificationHub,
  ) {
    hub.onAnnouncement((announcement) => {
      if (announcement.kind !== 'due-reached') return;
      if (Date.now() - Date.parse(announcement.dueAt) > FRESH_MS) return;
      this.remind(announcement.communicationId).catch((error: unknown) =>
        this.logger.warn(`reminder of ${announcement.communicationId} not sent: ${(error as Error).message}`),
      );
    });
  }

  private async remind(communicationId: string): Promise<void> {
    const keys = await this.models.keys();
    const communication = await getCommunication(this.models.redis, keys, communicationId);
    if (!communication || communication.status !== 'published' || !communication.dueAt) return;
    const connected = [...this.relay.connectedStores()];
    if (connected.length === 0) return;
    const targeted = await this.models.redis.smismember(keys.model('reach', communicationId, 'targeted'), ...connected);
    const stores = connected.filter((_, i) => targeted[i] === 1);
    const people = await peopleOfStores(
      this.models.redis,
      keys,
      communication,
      stores.map((storeId) => ({ storeId, regionId: '' })),
    );
    const pending = people.filter((person) => !person.acknowledgedAt);
    if (pending.length === 0) return;
    const names = new Map(
      (await namedStaff(this.models.redis, keys, [...new Set(pending.map((p) => p.storeId))])).map((s) => [
        s.id,
        s.displayName,
      ]),
    );
    for (const storeId of stores) {
      const theirs = pending.filter((person) => person.storeId === storeId);
      if (theirs.length === 0) continue;
      const reminder: Reminder = {
        communicationId,
        title: communication.title,
        dueAt: communication.dueAt,
        people: theirs
          .map((person) => ({ staffId: person.staffId, name: names.get(person.staffId) ?? ERASED_PERSON }))
          .sort((a, b) => a.name.localeCompare(b.name)),
      };
      for (const session of this.relay.sessionsOf(storeId)) {
        if (!session.closed) session.socket.emit('reminder', reminder);
      }
    }
  }
}
