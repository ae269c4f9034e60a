/**
 * Connectors by URL scheme (as MQTT.js picks a transport from its `protocols` map). The rule engine
 * asks the registry to check a URL when a rule is created (no connection is made) and to create
 * the connector when the rule runs. `queue://` (Ferry's built-in durable queue) lives in the store
 * and is registered by whoever owns it; until then it is reported as not available.
 */
import { ConnectorUrlError } from './errors.js';
import { parseUrl, redactUrl, schemeOf } from './url.js';
import type { SourceConnector, SourceOptions, TargetConnector, TargetOptions } from './types.js';

export interface ConnectorFactory {
  /** Present when the scheme can be an outbound / status target. */
  readonly target?: {
    /** Validate the URL and its parameters without connecting; throws ConnectorUrlError. */
    check(url: URL): void;
    create(url: URL, options: TargetOptions): TargetConnector;
  };
  /** Present when the scheme can be an inbound source. */
  readonly source?: {
    check(url: URL): void;
    create(url: URL, options: SourceOptions): SourceConnector;
  };
}

/** Schemes with a slot but no factory in this module (registered by their owners). */
const RESERVED: Readonly<Record<string, string>> = {
  queue: 'the built-in queue (queue://NAME) is not available in this Ferry',
};

export class ConnectorRegistry {
  private readonly factories = new Map<string, ConnectorFactory>();

  /** Add or replace the factory for a scheme (lower case, without the colon). */
  register(scheme: string, factory: ConnectorFactory): void {
    this.factories.set(scheme.toLowerCase(), factory);
  }

  /** Registered schemes, sorted. */
  schemes(): string[] {
    return [...this.factories.keys()].sort();
  }

  checkTarget(url: string): void {
    const parsed = parseUrl(url);
    this.factoryFor(parsed, 'target').check(parsed);
  }

  createTarget(url: string, options: TargetOptions = {}): TargetConnector {
    const parsed = parseUrl(url);
    const factory = this.factoryFor(parsed, 'target');
    factory.check(parsed);
    return factory.create(parsed, options);
  }

  checkSource(url: string): void {
    const parsed = parseUrl(url);
    this.factoryFor(parsed, 'source').check(parsed);
  }

  createSource(url: string, options: SourceOptions): SourceConnector {
    const parsed = parseUrl(url);
    const factory = this.factoryFor(parsed, 'source');
    factory.check(parsed);
    return factory.create(parsed, options);
  }

  private factoryFor(url: URL, role: 'target'): NonNullable<ConnectorFactory['target']>;
  private factoryFor(url: URL, role: 'source'): NonNullable<ConnectorFactory['source']>;
  private factoryFor(url: URL, role: 'target' | 'source'): NonNullable<ConnectorFactory['target' | 'source']> {
    const scheme = schemeOf(url);
    const factory = this.factories.get(scheme);
    if (factory === undefined) {
      const reserved = RESERVED[scheme];
      if (reserved !== undefined) throw new ConnectorUrlError(`${reserved}: ${redactUrl(url)}`, 'scheme');
      throw new ConnectorUrlError(
        `unknown scheme "${scheme}:" in ${redactUrl(url)} (supported: ${this.schemes().map((s) => `${s}://`).join(', ')})`,
        'scheme',
      );
    }
    const role_ = factory[role];
    if (role_ === undefined) {
      const can = this.schemes().filter((s) => this.factories.get(s)?.[role] !== undefined);
      throw new ConnectorUrlError(
        `"${scheme}://" cannot be a rule ${role} (${role}s: ${can.map((s) => `${s}://`).join(', ')})`,
        'scheme',
      );
    }
    return role_;
  }
}
