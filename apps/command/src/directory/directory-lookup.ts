/** Directory lookup: the controllers' reads of the write engine's in-memory view. */
import { Inject, Injectable } from '@nestjs/common';
import type { UserRole } from '@lastmeter/contracts';
import type { StaffState, TerminalState, UserState } from '@lastmeter/domain';
import {
  ACKNOWLEDGED_WRITES,
  AGGREGATE_STORE,
  CredentialStore,
  EventTail,
  type AggregateStore,
} from '@lastmeter/write-engine';

/** What login needs of a user: who they are (from the log) and their password hash (credentials topic). */
export interface Account {
  userId: string;
  username: string;
  role: UserRole;
  storeId?: string;
  disabled: boolean;
  sessionVersion: number;
  passwordHash: string;
}

/**
 * Reads of the command service's own view for the HTTP layer (login, enrollment,
 * report scoping, session checks). A miss waits once for the tail to catch up with the
 * log, to its high watermarks (ACKNOWLEDGED_WRITES), so what any instance has just
 * written and answered for is always found, even before its transaction markers are.
 */
@Injectable()
export class DirectoryLookup {
  constructor(
    @Inject(AGGREGATE_STORE) private readonly store: AggregateStore,
    private readonly credentials: CredentialStore,
    private readonly tail: EventTail,
  ) {}

  private async fresh<T>(read: () => Promise<T | undefined> | T | undefined): Promise<T | undefined> {
    const found = await read();
    if (found !== undefined) return found;
    await this.settled();
    return read();
  }

  account(username: string): Promise<Account | undefined> {
    return this.fresh(async () => {
      const userId = await this.store.userIdByName(username);
      if (!userId) return undefined;
      const user = await this.user(userId);
      const passwordHash = this.credentials.passwordHashOf(userId);
      if (!user?.role || !passwordHash) return undefined;
      return {
        userId,
        username: user.username,
        role: user.role,
        ...(user.storeId ? { storeId: user.storeId } : {}),
        disabled: user.disabled,
        sessionVersion: user.sessionVersion,
        passwordHash,
      };
    });
  }

  /** The user as the log says now (no secret), or undefined when there is none. */
  async user(userId: string): Promise<UserState | undefined> {
    await this.store.load([['user', userId]]);
    const state = this.store.get('user', userId).state as UserState;
    return state.exists ? state : undefined;
  }

  /** The user at `version` or later (waits for the tail when this instance has not seen it yet). */
  async userAt(userId: string, version: number): Promise<UserState | undefined> {
    await this.reach('user', userId, version);
    return this.user(userId);
  }

  /** Waits for the tail when this instance has not seen the aggregate at `version` yet. */
  private async reach(type: 'user' | 'terminal', id: string, version: number): Promise<void> {
    await this.store.load([[type, id]]);
    if (this.store.get(type, id).version < version) await this.settled();
  }

  /** Resolves once this instance has read what every instance has written so far (ACKNOWLEDGED_WRITES). */
  settled(): Promise<void> {
    return this.tail.catchUp(undefined, ACKNOWLEDGED_WRITES);
  }

  /**
   * Whether a secret matches the credential `read` gives (a password or PIN hash, with
   * `matches` the check). A mismatch is checked again once this instance has read every
   * acknowledged write: the credential may have been set a moment ago through another
   * command instance, whose record this one has not read yet.
   */
  async matchesCredential(
    read: () => string | undefined,
    matches: (hash: string) => boolean | Promise<boolean>,
  ): Promise<boolean> {
    const stored = read();
    if (stored !== undefined && (await matches(stored))) return true;
    await this.settled();
    const fresh = read();
    return fresh !== undefined && fresh !== stored && (await matches(fresh));
  }

  /** The password hash of a user, for checking a current password. */
  passwordHashOf(userId: string): string | undefined {
    return this.credentials.passwordHashOf(userId);
  }

  /** The terminal at `version` or later (waits for the tail when this instance has not seen it yet). */
  async terminalAt(terminalId: string, version: number): Promise<TerminalState> {
    await this.reach('terminal', terminalId, version);
    return this.terminal(terminalId);
  }

  terminalByCode(codeHash: string): Promise<string | undefined> {
    return this.fresh(() => this.credentials.terminalIdByCode(codeHash));
  }

  async terminal(terminalId: string): Promise<TerminalState> {
    await this.store.load([['terminal', terminalId]]);
    return this.store.get('terminal', terminalId).state as TerminalState;
  }

  /** The staff member as the log says now, or undefined (waits once for the tail). */
  staff(staffId: string): Promise<StaffState | undefined> {
    return this.fresh(async () => {
      await this.store.load([['staff', staffId]]);
      const state = this.store.get('staff', staffId).state as StaffState;
      return state.exists ? state : undefined;
    });
  }

  /** The PIN hash of a staff member (lastmeter.credentials.v1). */
  pinHashOf(staffId: string): string | undefined {
    return this.credentials.pinHashOf(staffId);
  }

  async storeExists(storeId: string): Promise<boolean> {
    const exists = () => ((this.store.get('store', storeId).state as { exists: boolean }).exists ? true : undefined);
    return (await this.fresh(exists)) === true;
  }
}
