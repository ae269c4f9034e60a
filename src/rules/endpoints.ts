/**
 * The connector layer (src/rules/connectors) as the rule model's RuleEndpoints port: URL checks
 * without connecting, and redaction. Whoever owns a scheme that is not built in (the built-in
 * queue's `queue://`) registers it on the same ConnectorRegistry.
 */
import { redactUrl, type ConnectorRegistry } from './connectors/index.js';
import type { RuleEndpoints } from './model.js';

export function connectorEndpoints(connectors: ConnectorRegistry): RuleEndpoints {
  return {
    checkTarget: (url) => connectors.checkTarget(url),
    checkSource: (url) => connectors.checkSource(url),
    redact: (url) => redactUrl(url),
  };
}
