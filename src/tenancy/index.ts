/** Tenancy: instances, parent topics, Group IDs, client ids, instance resolution. */
export * from './errors.js';
export * from './limits.js';
export * from './names.js';
export * from './registry.js';
export * from './resolve.js';
