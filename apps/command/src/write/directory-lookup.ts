import { Inject, Injectable } from '@nestjs/common';
import type { TerminalState } from '@lastmeter/domain';
import type { AggregateStore, Credential } from './aggregate-store';
import { EventTail } from './event-tail';
import { AGGREGATE_STORE } from './tokens';

/**
 * Reads of the command service's own view for the HTTP layer (login, enrollment,
 * report scoping). A miss waits once for the tail to catch up with the log, so what was
 * just written is always found.
 */
@Injectable()
export class DirectoryLookup {
  constructor(
    @Inject(AGGREGATE_STORE) private readonly store: AggregateStore,
    private readonly tail: EventTail,
  ) {}

  private async fresh<T>(read: () => T | undefined): Promise<T | undefined> {
    const found = read();
    if (found !== undefined) return found;
    await this.tail.catchUp();
    return read();
  }

  credential(username: string): Promise<Credential | undefined> {
    return this.fresh(() => this.store.credentialOf(username));
  }

  terminalByCode(codeHash: string): Promise<string | undefined> {
    return this.fresh(() => this.store.terminalIdByCode(codeHash));
  }

  terminal(terminalId: string): TerminalState {
    return this.store.get('terminal', terminalId).state as TerminalState;
  }

  async storeExists(storeId: string): Promise<boolean> {
    const exists = () => ((this.store.get('store', storeId).state as { exists: boolean }).exists ? true : undefined);
    return (await this.fresh(exists)) === true;
  }
}
