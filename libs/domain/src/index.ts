import type { AggregateType } from '@lastmeter/contracts';
import type { CommandType } from './commands';
import { communicationDecider } from './communication/communication.decider';
import { regionDecider } from './region/region.decider';
import { storeDecider } from './store/store.decider';
import { terminalDecider } from './terminal/terminal.decider';
import { userDecider } from './user/user.decider';
import { staffDecider } from './staff/staff.decider';

export * from './errors';
export * from './decider';
export * from './commands';
export { EDITOR_ROLES, isEditor } from './access';
export * from './communication/communication.state';
export { normalizeContent } from './communication/communication.content';
export { communicationDecider } from './communication/communication.decider';
export * from './region/region.state';
export { regionDecider } from './region/region.decider';
export * from './store/store.state';
export { storeDecider } from './store/store.decider';
export * from './terminal/terminal.state';
export { terminalDecider } from './terminal/terminal.decider';
export * from './user/user.state';
export { userDecider } from './user/user.decider';
export * from './staff/staff.state';
export { staffDecider } from './staff/staff.decider';
export * from './feed/feed.planner';
export * from './quiz/quiz';
export * from './survey/survey';
export { credentialChanges } from './credentials';

/** The decider of every aggregate type; the command runner picks one by the command's prefix. */
export const DECIDERS = {
  communication: communicationDecider,
  region: regionDecider,
  store: storeDecider,
  terminal: terminalDecider,
  user: userDecider,
  staff: staffDecider,
} as const satisfies Record<AggregateType, unknown>;

/** `communication.publish` → `communication`: command types are `<aggregate>.<verb>`. */
export function aggregateTypeOfCommand(type: CommandType): AggregateType {
  return type.slice(0, type.indexOf('.')) as AggregateType;
}
