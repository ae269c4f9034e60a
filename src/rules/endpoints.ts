/**
 * The connector layer (src/rules/connectors) as the rule model's RuleEndpoints port: URL checks
 * without connecting, and redaction. Whoever owns a scheme that is not built in (the built-in
 * queue's `queue://`) registers it on the same ConnectorRegistry.
 */
import type { ConnectorRegistry } from './connectors/registry.js';
import { redactUrl } from './connectors/url.js';
import type { RuleEndpoints } from './model.js';

export function connectorEndpoints(connectors: ConnectorRegistry): RuleEndpoints {
  return {
    checkTarget: (url) => connectors.checkTarget(url),
    checkSource: (url) => connectors.checkSource(url),
    redact: (url) => redactUrl(url),
  };
}
