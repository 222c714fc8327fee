export * from './object-store';
export * from './inspect';
export * from './media-library';
export * from './s3-object-store';
export * from './configured-store';
export * from './sweep';
export * from './store-media';
