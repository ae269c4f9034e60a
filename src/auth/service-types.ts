/** What the auth service is configured with and what it needs to see of the running broker. */
import type { AclRule } from '../broker/options.js';
import type { ClientHandle } from '../broker/hooks.js';
import type { LogThrottle } from '../observability/log-limits.js';
import type { Clock } from './clock.js';
import type { ExternalAuth } from '../external-auth/index.js';
import type { LoginLimits } from './quotas.js';

/** What the service needs to know about the broker's live state. */
export interface BrokerView {
  connections(instanceId: string): number;
  clientOnline(instanceId: string, clientId: string): boolean;
  /** Subscriptions of one client, and whether it already has `filter`. */
  clientSubscriptions(instanceId: string, clientId: string, filter: string): { count: number; has: boolean };
  instanceSubscriptions(instanceId: string): number;
  clients(instanceId?: string): Iterable<ClientHandle>;
}

/** The broker view once attached (AuthService.attach), null before. */
export type BrokerViewRef = () => BrokerView | null;

export interface AuthServiceOptions {
  /** Anonymous clients (no username) may connect to the default instance. */
  readonly allowAnonymous: boolean;
  /** ACL of anonymous clients (config broker.acl). */
  readonly acl: readonly AclRule[];
  /** Listener name → instance id. */
  readonly listenerInstances: Readonly<Record<string, string>>;
  readonly loginLimits?: LoginLimits;
  readonly clock?: Clock;
  /** Called for every refused CONNECT with a short cause ('bad-signature', 'token-2', 'blacklisted', ...). */
  readonly onAuthFailure?: (instanceId: string, cause: string) => void;
  /** Per-instance JWT and HTTP callbacks (config externalAuth). */
  readonly external?: ExternalAuth;
  /** Refusals are logged through it (one line per cause per address per interval); else every one is. */
  readonly logThrottle?: LogThrottle;
}

export interface AuthCounters {
  authenticated: number;
  refused: number;
  tokenNotices: number;
  revocationCuts: number;
}
