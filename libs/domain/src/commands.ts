import type {
  StoreRegistered,
  TerminalKind,
  StoreUpdated,
  Audience,
  CommunicationAttachment,
  MediaRef,
  CommunicationKind,
  Evidence,
  Priority,
  Delivery,
  QuizQuestion,
  StoreRole,
  UserRole,
  Translations,
  SealedText,
  TaskMandate,
  SurveyQuestion,
} from '@lastmeter/contracts';
import type { Command } from './decider';

/** Communication content as a client sends it (defaults applied by decide). */
export interface CommunicationInput {
  kind: CommunicationKind;
  title: string;
  body: string;
  priority?: Priority;
  delivery?: Delivery;
  audience: Audience;
  dueAt?: string;
  evidence?: Evidence;
  mandate?: TaskMandate;
  questions?: QuizQuestion[];
  survey?: { questions: SurveyQuestion[] };
  /** Resolved by the command service from `{ mediaId, name? }` (head office media only). */
  attachments?: CommunicationAttachment[];
  /** Resolved likewise; null (in a revision) removes the cover. */
  cover?: MediaRef | null;
  language?: string;
  translations?: Translations;
}

export type CommunicationCommand =
  | Command<'communication.draft', CommunicationInput>
  | Command<'communication.revise', Partial<CommunicationInput>>
  | Command<'communication.submit', Record<string, never>>
  | Command<'communication.approve', Record<string, never>>
  | Command<'communication.reject', { reason: string }>
  | Command<'communication.publish', { publishAt?: string; expiresAt?: string }>
  | Command<'communication.retract', { reason?: string }>
  /** Head office sends a store's evidence of a task back (the task reopens for that store). */
  | Command<'communication.reject-evidence', { storeId: string; reason: string }>
  /** System (scheduler): a scheduled communication whose publishAt has come. */
  | Command<'communication.publish-due', Record<string, never>>
  /** System (scheduler): a published communication whose expiresAt has come. */
  | Command<'communication.expire', Record<string, never>>
  /** System (scheduler): a published communication whose dueAt has come (people are reminded). */
  | Command<'communication.remind-due', Record<string, never>>;

/**
 * `*.import` (bulk directory import, apps/command imports/): create-or-converge by natural
 * key. The aggregate id is derived from the natural key, so a second import of the same
 * row lands on the same aggregate and the decider, the single writer, says whether it is
 * new (the creation event), changed (an update event) or the same (no event).
 */
export type RegionCommand =
  Command<'region.define', { code: string; name: string }> | Command<'region.import', { code: string; name: string }>;

/** A store as registered or imported: the code, name and region, the rest defaulted (StoreRegistered). */
type StoreFields = Omit<StoreRegistered, 'tags' | 'locale' | 'timezone'> &
  Partial<Pick<StoreRegistered, 'tags' | 'locale' | 'timezone'>>;

export type StoreCommand =
  Command<'store.register', StoreFields> | Command<'store.update', StoreUpdated> | Command<'store.import', StoreFields>;

export type TerminalCommand =
  | Command<
      'terminal.register',
      {
        storeId: string;
        name?: string;
        roles?: StoreRole[];
        enrollmentCodeHash: string;
        enrollmentExpiresAt: string;
        kind?: TerminalKind;
      }
    >
  | Command<
      'terminal.import',
      { storeId: string; name: string; roles: StoreRole[]; enrollmentCodeHash: string; enrollmentExpiresAt: string }
    >
  | Command<'terminal.enroll', { enrollmentCodeHash: string }>
  | Command<'terminal.revoke', { reason?: string }>;

/**
 * `passwordHash` (create, set-password) and `enrollmentCodeHash` (register, enroll) ride
 * on the command only: the decider never puts them in an event; the runner writes them to
 * lastmeter.credentials.v1 in the same transaction (see credentialChanges).
 */
export type UserCommand =
  | Command<'user.create', { username: string; role: UserRole; storeId?: string; passwordHash: string }>
  | Command<'user.set-password', { passwordHash: string; by: 'admin' | 'self' }>
  | Command<'user.disable', { reason?: string }>
  | Command<'user.enable', Record<string, never>>
  | Command<'user.change-role', { role: UserRole; storeId?: string }>;

/**
 * A store's staff (issue 21). The name arrives sealed with the person's key (the HTTP
 * layer seals it, so the commands topic never holds it in clear); `pinHash` rides on the
 * command only and goes to lastmeter.credentials.v1, as passwords do.
 */
export type StaffCommand =
  | Command<'staff.add', { storeId: string; name: SealedText; roles: StoreRole[]; pinHash: string }>
  | Command<'staff.update', { name?: SealedText; roles?: StoreRole[]; pinHash?: string }>
  /**
   * Import: create, or converge on the file (`name` only when it changed: the import
   * compares the opened name, as a sealed one is new bytes each time; `pinHash` only for a
   * new person or a changed PIN).
   */
  | Command<'staff.import', { storeId: string; name?: SealedText; roles: StoreRole[]; pinHash?: string }>
  | Command<'staff.remove', { reason?: string }>
  | Command<'staff.erase', Record<string, never>>;

export type AnyCommand =
  CommunicationCommand | RegionCommand | StoreCommand | TerminalCommand | UserCommand | StaffCommand;
export type CommandType = AnyCommand['type'];
