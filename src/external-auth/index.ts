/**
 * External authentication and authorization per instance (config `externalAuth`): JWT (jwt.ts)
 * and the HTTP callbacks (http.ts), in that order. Auth consults them for CONNECTs whose
 * username names none of the managed service's modes and is no custom identity of the instance
 * (docs/authentication.md, "JWT and HTTP callbacks"):
 *
 *   JWT  allow → connected     deny → refused     ignore (no JWT in CONNECT) ↓
 *   HTTP allow → connected     deny → refused     ignore, or failure with failurePolicy "ignore" ↓
 *   what the instance does without them (anonymous on the default instance, else refused)
 *
 * Clients they let in carry the ACL of the answer (JWT claim or callback field; none = every
 * topic of the instance) and, with an authorizeUrl, each PUBLISH/SUBSCRIBE is also asked of the
 * callback (cached; the client's packets wait for the answer).
 */
import type { Logger } from 'pino';
import type { TopicAcl } from './acl.js';
import type { ExternalAuthConfig } from './config.js';
import { HttpCallbacks, type PeerFacts } from './http.js';
import type { JwtProvider, ConnectFacts, ProviderOutcome } from './jwt.js';
import { loadFeature } from '../load-feature.js';

export { aclAllows, parseAcl, type TopicAcl } from './acl.js';
export { checkExternalAuth, type ExternalAuthConfig, type HttpSettings, type InstanceExternalAuth, type JwtSettings } from './config.js';
export { safeUrl, type PeerFacts } from './http.js';
export type { ConnectFacts, ProviderOutcome } from './jwt.js';

export type ExternalProvider = 'jwt' | 'http';

export type ExternalOutcome =
  | { readonly kind: 'allow'; readonly provider: ExternalProvider; readonly acl: TopicAcl | null; readonly expiresAt?: number }
  | { readonly kind: 'deny'; readonly provider: ExternalProvider; readonly cause: string; readonly reason: string }
  | { readonly kind: 'ignore' };

interface InstanceProviders {
  readonly jwt: JwtProvider | null;
  readonly http: HttpCallbacks | null;
}

export class ExternalAuth {
  private constructor(private readonly byInstance: ReadonlyMap<string, InstanceProviders>) {}

  /** Opens every configured provider (reads key files; a bad one fails the start with ConfigError). */
  static async open(config: ExternalAuthConfig, log: Logger): Promise<ExternalAuth> {
    const byInstance = new Map<string, InstanceProviders>();
    // The JWT checks (and their library, jose) are loaded only when an instance configures them.
    const usesJwt = Object.values(config).some((entry) => entry.jwt !== undefined);
    const jwt = usesJwt ? await loadFeature('externalAuth jwt', () => import('./jwt.js')) : null;
    for (const [instanceId, entry] of Object.entries(config)) {
      byInstance.set(instanceId, {
        jwt: entry.jwt === undefined || jwt === null ? null : await jwt.JwtProvider.open(entry.jwt),
        http: entry.http === undefined ? null : new HttpCallbacks(entry.http, log.child({ instanceId, provider: 'http' })),
      });
    }
    return new ExternalAuth(byInstance);
  }

  static none(): ExternalAuth {
    return new ExternalAuth(new Map());
  }

  configured(instanceId: string): boolean {
    return this.byInstance.has(instanceId);
  }

  instances(): string[] {
    return [...this.byInstance.keys()];
  }

  /** The HTTP callbacks of an instance (for the authorization callback and counters). */
  http(instanceId: string): HttpCallbacks | null {
    return this.byInstance.get(instanceId)?.http ?? null;
  }

  async authenticate(facts: ConnectFacts, peer: PeerFacts): Promise<ExternalOutcome> {
    const providers = this.byInstance.get(facts.instanceId);
    if (providers === undefined) return { kind: 'ignore' };
    if (providers.jwt !== null) {
      const outcome = with_('jwt', await providers.jwt.authenticate(facts));
      if (outcome.kind !== 'ignore') return outcome;
    }
    if (providers.http !== null) return with_('http', await providers.http.authenticate(facts, peer));
    return { kind: 'ignore' };
  }
}

function with_(provider: ExternalProvider, outcome: ProviderOutcome): ExternalOutcome {
  return outcome.kind === 'ignore' ? outcome : { ...outcome, provider };
}
