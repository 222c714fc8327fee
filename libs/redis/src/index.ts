export * from './redis-client';
export * from './redis.tokens';
export * from './redis.module';
export * from './redis.health';
export * from './fact-claims';
export * from './channels';
export * from './pipeline-replies';
export * from './unavailable';
