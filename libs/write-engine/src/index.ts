/** @lastmeter/write-engine: the command service's write side (intake, decider, writers, feed). */
export * from './write-engine.tokens';
export * from './ports';
export * from './aggregate-store';
export * from './snapshot-store';
export * from './credential-store';
export * from './feed-ledger';
export * from './event-tail';
export * from './reply-channel';
export * from './command-log';
export * from './command-bus';
export * from './partition-writer';
export * from './partition-writers';
export * from './partition-decider';
export * from './decider.service';
export * from './feed-sequencer';
export * from './scheduler';
export * from './write-engine.module';
