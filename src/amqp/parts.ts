/**
 * What the composition root (server.ts) uses of the AMQP endpoint, in one module that it imports
 * only when amqpPort or amqpsPort is on (src/load-feature.ts).
 */
export { startAmqp } from './endpoint.js';
export { registerAmqpMetrics } from './metrics.js';
