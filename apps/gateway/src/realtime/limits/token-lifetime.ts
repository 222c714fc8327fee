import type { TokenClaims } from '@lastmeter/auth';

/** setTimeout's largest delay (about 24.8 days); longer waits are re-armed. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** Runs `fire` at `at` (epoch ms), however far away; returns a cancel function. */
export function atInstant(at: number, fire: () => void, now = Date.now): () => void {
  let timer: NodeJS.Timeout;
  const arm = () => {
    const wait = at - now();
    if (wait <= 0) return fire();
    timer = setTimeout(arm, Math.min(wait, MAX_TIMEOUT_MS));
    timer.unref();
  };
  arm();
  return () => clearTimeout(timer);
}

/** The claims a renewed token keeps: who the device is, without the old token's times and issuer. */
export function identityOf(claims: TokenClaims): TokenClaims {
  const { iat: _iat, exp: _exp, iss: _iss, ...identity } = claims as TokenClaims & { iss?: string };
  return identity;
}

export type DeviceTokenVerdict =
  { kind: 'expired' } | { kind: 'valid'; expiresAt: number } | { kind: 'renew'; claims: TokenClaims };

/**
 * What to do with a verified device token on connect (docs/security.md): past its maximum
 * age (DEVICE_TOKEN_MAX_AGE_DAYS, counted from `iat`, whatever `exp` says — older tokens
 * were issued for 365 days) it is refused as expired; past half of it, a new one is
 * issued and sent with `hello`; otherwise the socket lives until the token expires. Pure.
 */
export function deviceTokenVerdict(claims: TokenClaims, maxAgeMs: number, now: number): DeviceTokenVerdict {
  const issuedAt = (claims.iat ?? 0) * 1_000;
  const expiresAt = Math.min(claims.exp !== undefined ? claims.exp * 1_000 : Infinity, issuedAt + maxAgeMs);
  if (now >= expiresAt) return { kind: 'expired' };
  if (now - issuedAt >= maxAgeMs / 2) return { kind: 'renew', claims: identityOf(claims) };
  return { kind: 'valid', expiresAt };
}

/**
 * The life of one socket's token: `expire` at `expiresAt`, and — unless the token ends
 * before half of the maximum age (a short-lived one) — `renew` at half of its age, which
 * issues a new token and answers its issue time; the cycle then starts over from it.
 * Returns the function that cancels whatever is pending.
 */
export function socketLifetime(options: {
  issuedAt: number;
  expiresAt: number;
  maxAgeMs: number;
  renew: () => Promise<number | undefined>;
  expire: () => void;
}): () => void {
  let cancelled = false;
  let cancelCurrent = () => undefined as void;
  const arm = (issuedAt: number, expiresAt: number) => {
    const cancelExpiry = atInstant(expiresAt, options.expire);
    const renewAt = issuedAt + options.maxAgeMs / 2;
    const cancelRenewal =
      renewAt >= expiresAt
        ? () => undefined
        : atInstant(renewAt, () => {
            void options.renew().then((renewedAt) => {
              if (cancelled || renewedAt === undefined) return;
              cancelExpiry();
              arm(renewedAt, renewedAt + options.maxAgeMs);
            });
          });
    cancelCurrent = () => {
      cancelExpiry();
      cancelRenewal();
    };
  };
  arm(options.issuedAt, options.expiresAt);
  return () => {
    cancelled = true;
    cancelCurrent();
  };
}
