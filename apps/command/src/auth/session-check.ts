import { isDeviceRole } from '@lastmeter/contracts';
import { Inject, Injectable } from '@nestjs/common';
import { sessionRefusal, type SessionCheck, type TokenClaims } from '@lastmeter/auth';
import type { TerminalState, UserState } from '@lastmeter/domain';
import { AGGREGATE_STORE, type AggregateStore } from '@lastmeter/write-engine';

/**
 * Whether a token still stands, from the command service's own view of the log (which
 * follows the events topic within ~100 ms): a disabled user, a token issued before the
 * user's last password or role change, or a revoked terminal are refused.
 */
@Injectable()
export class CommandSessionCheck implements SessionCheck {
  constructor(@Inject(AGGREGATE_STORE) private readonly store: AggregateStore) {}

  async refusal(claims: TokenClaims): Promise<string | undefined> {
    // The scheduler decides in-process; no token may speak for the system.
    if (claims.role === 'system') return 'system tokens are not accepted here';
    // A screen is a terminal of kind screen: revoked like any other.
    const type = isDeviceRole(claims.role) ? 'terminal' : 'user';
    // Terminals and users may be out of the command service's memory (snapshots).
    await this.store.load([[type, claims.sub]]);
    if (type === 'terminal') {
      const terminal = this.store.get('terminal', claims.sub).state as TerminalState;
      return terminal.status === 'revoked' ? 'terminal revoked' : undefined;
    }
    const user = this.store.get('user', claims.sub).state as UserState;
    return sessionRefusal(claims, user.exists ? user : undefined);
  }
}
