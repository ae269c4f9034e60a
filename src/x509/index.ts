/** X.509 device identity (registered CAs, device certificates) and the SNI → instance domains. */
export * from './certificate.js';
export * from './registry.js';
export * from './sni-config.js';
