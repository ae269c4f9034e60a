/**
 * The connector layer of rules: targets (outbound messages, status events) and sources (inbound)
 * for RabbitMQ, NATS JetStream, Redis Streams and webhooks, picked by URL scheme. See
 * docs/rules.md for the URLs, parameters and the properties each message carries.
 */
import { amqpConnector } from './amqp.js';
import { natsConnector } from './nats.js';
import { redisConnector } from './redis.js';
import { ConnectorRegistry } from './registry.js';
import { webhookConnector } from './webhook.js';

export { ConnectorRegistry, type ConnectorFactory } from './registry.js';
export { ConnectorUrlError, InboundMessageError, INBOUND_ERROR_CODES, type InboundErrorCode } from './errors.js';
export { redactUrl, redactText } from './url.js';
export { PROPERTY, messageProperties, parseInbound, propertyString, splitTopic, statusBody } from './properties.js';
export { natsSubject } from './nats.js';
export { webhookSignature, webhookBody, SIGNATURE_HEADER, TIMESTAMP_HEADER, EVENT_HEADER } from './webhook.js';
export * from './types.js';

/** A registry with every connector of this module: amqp, nats, redis, http, https. */
export function createConnectorRegistry(): ConnectorRegistry {
  const registry = new ConnectorRegistry();
  registry.register('amqp', amqpConnector);
  registry.register('nats', natsConnector);
  registry.register('redis', redisConnector);
  registry.register('http', webhookConnector);
  registry.register('https', webhookConnector);
  return registry;
}
