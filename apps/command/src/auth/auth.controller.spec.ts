import { BadRequestException } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { Actor } from '@lastmeter/contracts';
import { hashPassword } from '@lastmeter/auth';
import type { AppConfig } from '@lastmeter/config';
import type { UserState } from '@lastmeter/domain';
import { CredentialStore, type AggregateStore, type CommandBus, type EventTail } from '@lastmeter/write-engine';
import { DirectoryLookup } from '../directory/directory-lookup';
import { AuthController } from './auth.controller';

/**
 * A self-service password change on a command instance whose view lags: the password
 * may have been set through another instance a moment ago (its credentials record not
 * read here yet), so a miss is checked again after the view has caught up
 * (DirectoryLookup.matchesCredential, which a staff member's PIN sign-in uses too).
 */
describe('AuthController.changeOwnPassword', () => {
  const actor: Actor = { id: 'u1', role: 'hq-editor' } as Actor;
  const body = { currentPassword: 'set-a-moment-ago', newPassword: 'brand-new-password' };

  /** A command instance whose credentials are `now`, and `afterCatchUp` once its tail has read on. */
  function controller(hashes: { now?: string; afterCatchUp?: string }) {
    const credentials = new CredentialStore();
    const set = (passwordHash?: string) =>
      credentials.apply({
        id: 'u1',
        record: passwordHash ? { kind: 'password', userId: 'u1', passwordHash, setAt: '2026-12-05T00:00:00Z' } : null,
      });
    set(hashes.now);
    let catchUps = 0;
    const tail = {
      catchUp: async () => {
        catchUps++;
        if (hashes.afterCatchUp) set(hashes.afterCatchUp);
      },
    } as unknown as EventTail;
    const lookup = new DirectoryLookup({} as AggregateStore, credentials, tail);
    lookup.userAt = async () => ({ id: 'u1', username: 'u', role: 'hq-editor', sessionVersion: 2 }) as UserState;
    const dispatched: unknown[] = [];
    const bus = {
      dispatch: async (request: unknown) => {
        dispatched.push(request);
        return { ok: true, status: 200, body: { id: 'u1', version: 2 } };
      },
    } as unknown as CommandBus;
    const auth = new AuthController(
      { LASTMETER_ADMIN_PASSWORD: 'admin-password' } as AppConfig<'command'>,
      lookup,
      new JwtService({ secret: 'test-secret' }),
      bus,
    );
    return { auth, dispatched, catchUps: () => catchUps };
  }

  it('finds a password set through another instance once its view has caught up', async () => {
    const { auth, dispatched, catchUps } = controller({
      now: await hashPassword('the-one-before'),
      afterCatchUp: await hashPassword('set-a-moment-ago'),
    });
    const changed = await auth.changeOwnPassword(body, actor);
    expect(changed.token).toEqual(expect.any(String));
    expect(dispatched).toHaveLength(1);
    expect(catchUps()).toBe(1);
  });

  it('finds a user created through another instance once its view has caught up', async () => {
    const { auth, dispatched } = controller({ afterCatchUp: await hashPassword('set-a-moment-ago') });
    await auth.changeOwnPassword(body, actor);
    expect(dispatched).toHaveLength(1);
  });

  it('refuses a wrong current password after the catch-up, and decides nothing', async () => {
    const { auth, dispatched, catchUps } = controller({ now: await hashPassword('the-real-one') });
    await expect(auth.changeOwnPassword(body, actor)).rejects.toBeInstanceOf(BadRequestException);
    expect(dispatched).toHaveLength(0);
    expect(catchUps()).toBe(1);
  });

  it('checks a matching password without waiting for the log', async () => {
    const { auth, catchUps } = controller({ now: await hashPassword('set-a-moment-ago') });
    await auth.changeOwnPassword(body, actor);
    expect(catchUps()).toBe(0);
  });
});
