export * from './replay';
export * from './replay-query';
export * from './csv';
export * from './audit';
export * from './replay-filter';
export * from './staff-names';
export * from './personal-fields';
