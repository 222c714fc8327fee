/**
 * Nest injection tokens of the write engine: the shared in-memory aggregate store and the
 * ports (see ports.ts) whose production adapters write-engine.module.ts provides.
 */
export const AGGREGATE_STORE = Symbol('AGGREGATE_STORE');
/** CommandLog: where the command bus appends commands. */
export const COMMAND_LOG = Symbol('COMMAND_LOG');
/** ReplyTransport: the pub/sub replies travel on. */
export const REPLY_TRANSPORT = Symbol('REPLY_TRANSPORT');
/** TransactionalProducerFactory: one fenced producer per transactional id. */
export const TRANSACTIONAL_PRODUCERS = Symbol('TRANSACTIONAL_PRODUCERS');
/** Clock: what "now" is for the scheduler and the decider. */
export const CLOCK = Symbol('CLOCK');
/** boolean: whether publish decisions carry their feed entries (COMMAND_FEED_IN_DECISION). */
export const FEED_IN_DECISION = Symbol('FEED_IN_DECISION');
/** InRequestDecider: decides commands in their request (COMMAND_DECIDE_IN_REQUEST); absent when off. */
export const IN_REQUEST_DECIDER = Symbol('IN_REQUEST_DECIDER');
/** FeedNotifier: tells gateways of committed feed entries (COMMAND_FEED_NOTICE); absent when off. */
export const FEED_NOTIFIER = Symbol('FEED_NOTIFIER');
