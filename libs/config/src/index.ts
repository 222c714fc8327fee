export * from './env';
export * from './load-config';
export * from './config.module';
export * from './validators';
export * from './redis-url';
