export * from './dev-secrets';
export * from './tokens';
export * from './roles.guard';
export * from './auth.module';
export * from './password';
export * from './personal-data';
export * from './staff-session';
