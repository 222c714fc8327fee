import { isDeviceRole } from '@lastmeter/contracts';
import { Injectable } from '@nestjs/common';
import { sessionRefusal, type SessionCheck, type TokenClaims } from '@lastmeter/auth';
import { getTerminal, getUser } from '@lastmeter/read-models';
import { ReadModels } from './read-models.service';

/**
 * Whether a token still stands, from the read models (one Redis GET): a revoked
 * terminal, a disabled user, or a user token issued before the user's last password or
 * role change is refused. The projector writes those docs a few milliseconds after the
 * event commits, so a refusal takes effect on every gateway well within a second.
 */
@Injectable()
export class GatewaySessionCheck implements SessionCheck {
  constructor(private readonly models: ReadModels) {}

  async refusal(claims: TokenClaims): Promise<string | undefined> {
    if (claims.role === 'system') return 'system tokens are not accepted here';
    const keys = await this.models.keys();
    if (isDeviceRole(claims.role)) {
      const terminal = await getTerminal(this.models.redis, keys, claims.sub);
      return terminal?.status === 'revoked' ? 'terminal revoked' : undefined;
    }
    return sessionRefusal(claims, await getUser(this.models.redis, keys, claims.sub));
  }
}
