import { useCallback, useEffect, useState } from 'react';
import type { LoginResult, UserRole } from '@lastmeter/contracts';
import { whenUnauthorized, write } from './api';

/** A logged-in person, kept in localStorage under the page's key until the token expires. */
export interface Session {
  token: string;
  role: UserRole;
  username: string;
  storeId?: string;
  /** Token expiry, epoch ms. */
  expiresAt: number;
}

/** The `exp` claim of a JWT (no verification: the servers verify; this only plans the logout). */
export function tokenExpiry(token: string): number {
  try {
    const payload = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))) as { exp?: number };
    return payload.exp ? payload.exp * 1000 : Number.POSITIVE_INFINITY;
  } catch {
    return 0;
  }
}

function load(key: string): Session | undefined {
  try {
    const session = JSON.parse(localStorage.getItem(key) ?? 'null') as Session | null;
    return session && session.expiresAt > Date.now() ? session : undefined;
  } catch {
    return undefined;
  }
}

export async function login(username: string, password: string): Promise<Session> {
  const result = await write<LoginResult>('POST', '/v1/auth/login', { body: { username, password } });
  return { ...result, username, expiresAt: tokenExpiry(result.token) };
}

/** The page's session: restored on load, dropped on logout, on expiry and on any 401. */
export function useSession(key: string) {
  const [session, setSession] = useState<Session | undefined>(() => load(key));
  const logout = useCallback(() => {
    localStorage.removeItem(key);
    setSession(undefined);
  }, [key]);
  const start = useCallback(
    (next: Session) => {
      localStorage.setItem(key, JSON.stringify(next));
      setSession(next);
    },
    [key],
  );
  useEffect(() => whenUnauthorized(logout), [logout]);
  useEffect(() => {
    if (!session) return;
    const timer = setTimeout(logout, Math.min(session.expiresAt - Date.now(), 2 ** 31 - 1));
    return () => clearTimeout(timer);
  }, [session, logout]);
  return { session, start, logout };
}
