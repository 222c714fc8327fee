export * from './object-store';
export * from './inspect';
export * from './media-library';
