export * from './bootstrap';
export * from './platform.module';
export * from './metrics';
export * from './logging';
export * from './errors.filter';
export * from './validation';
export * from './security-headers';
export * from './openapi';
