export * from './terminal-client';
