import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { staffOf, StaffSignedOut } from '@lastmeter/auth';
import type { TerminalSession } from '../feed-relay';
import { InvalidMessage } from './message';

/**
 * The staff member a message's `staff` session names (issue 21), checked against the
 * terminal that sends it: signed by the command service at sign-in, for this terminal and
 * store. A bad one refuses the message with a field error on `staff` (the tablet signs
 * the person in again); nothing is written.
 */
@Injectable()
export class StaffSessions {
  constructor(private readonly jwt: JwtService) {}

  staffIdOf(session: TerminalSession, token: string | undefined): string | undefined {
    if (token === undefined) return undefined;
    try {
      return staffOf(this.jwt, token, session).sub;
    } catch (error) {
      if (error instanceof StaffSignedOut) throw new InvalidMessage({ staff: [error.message] });
      throw error;
    }
  }
}
