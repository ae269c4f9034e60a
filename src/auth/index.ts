/** Authentication and authorization: AccessKeys and policies, the four modes, quotas. */
export * from './access-keys.js';
export * from './clock.js';
export * from './crypto.js';
export * from './custom-auth.js';
export * from './device-credentials.js';
export * from './filters.js';
export * from './policy.js';
export * from './quotas.js';
export * from './service.js';
export * from './tokens.js';
