/**
 * What the management facade is built from. Only the broker is required; the tenancy/auth
 * services may be missing in an embedded broker (their calls then fail with ServiceUnavailable).
 */
import type { AccessKeys } from '../auth/access-keys.js';
import type { CustomAuth } from '../auth/custom-auth.js';
import type { DeviceCredentials } from '../auth/device-credentials.js';
import type { TokenService } from '../auth/tokens.js';
import type { Broker } from '../broker/broker.js';
import type { RuleRegistry } from '../rules/registry.js';
import type { RuleBackends } from '../rules/runtime.js';
import type { Message } from '../session/message.js';
import type { Store } from '../store/types.js';
import type { Tenancy } from '../tenancy/registry.js';
import type { TraceQueries } from './traces.js';
import type { CertificateRegistry } from '../x509/registry.js';
import type { SniDomains } from '../x509/sni-config.js';

export interface ManagementDeps {
  readonly broker: Broker;
  /** Where tags are kept; null or absent = memory only. */
  readonly store?: Store | null;
  readonly tenancy?: Tenancy;
  readonly accessKeys?: AccessKeys;
  readonly tokens?: TokenService;
  readonly deviceCredentials?: DeviceCredentials;
  readonly customAuth?: CustomAuth;
  /** X.509 device identity: registered CAs and device certificates (src/x509). */
  readonly certificates?: CertificateRegistry;
  /** SetSniConfig domains (src/x509/sni-config.ts). */
  readonly sni?: SniDomains;
  readonly traces?: TraceQueries;
  /** Rules of the instances (src/rules); their calls fail with ServiceUnavailable without it. */
  readonly rules?: RuleRegistry;
  /** The rule runtime and the built-in queues (stubs until the runtime attaches). */
  readonly ruleBackends?: RuleBackends;
  /**
   * The trace MsgId of a routed message (TraceService.msgIdOf), so SendMessage and REST publish
   * answer the id its traces carry; without it, or while tracing is off (undefined), MsgIds are
   * random 32-hex ids.
   */
  readonly msgIdOf?: (message: Message) => string | undefined;
  readonly now?: () => number;
}
