/**
 * The connector layer (src/rules/connectors) as the rule model's RuleEndpoints port: URL checks
 * without connecting, and redaction. Whoever owns a scheme that is not built in (the built-in
 * queue's `queue://`) registers it on the same ConnectorRegistry.
 *
 * The connectors are imported on first use: the engines' client libraries (amqplib, ioredis,
 * NATS) cost about a second to import, which neither `ferry start` nor the CLI should pay
 * before a rule needs them.
 */
import type { ConnectorRegistry } from './connectors/registry.js';
import { redactUrl } from './connectors/url.js';
import type { RuleEndpoints } from './model.js';

/** The connector registry, created by the first caller (memoized). */
export type ConnectorLoader = () => Promise<ConnectorRegistry>;

export function connectorLoader(): ConnectorLoader {
  let loading: Promise<ConnectorRegistry> | undefined;
  return () => (loading ??= import('./connectors/index.js').then((m) => m.createConnectorRegistry()));
}

export function connectorEndpoints(load: ConnectorLoader): RuleEndpoints {
  let connectors: ConnectorRegistry | undefined;
  const loaded = (): ConnectorRegistry => {
    if (connectors === undefined) throw new Error('connectorEndpoints: ready() was not awaited');
    return connectors;
  };
  return {
    ready: async () => {
      connectors ??= await load();
    },
    checkTarget: (url) => loaded().checkTarget(url),
    checkSource: (url) => loaded().checkSource(url),
    redact: (url) => redactUrl(url),
  };
}
