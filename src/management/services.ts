/**
 * Adapter from the running auth service (src/auth/service.ts AuthService, started by
 * src/auth/setup.ts) to the facade's dependencies. Structural, so the facade does not depend on
 * how auth composes itself.
 */
import type { AccessKeys } from '../auth/access-keys.js';
import type { CustomAuth } from '../auth/custom-auth.js';
import type { DeviceCredentials } from '../auth/device-credentials.js';
import type { TokenService } from '../auth/tokens.js';
import type { Tenancy } from '../tenancy/registry.js';
import type { ManagementDeps } from './deps.js';
import type { CertificateRegistry } from '../x509/registry.js';
import type { SniDomains } from '../x509/sni-config.js';

export interface AuthServices {
  readonly tenancy: Tenancy;
  readonly keys: AccessKeys;
  readonly tokens: TokenService;
  readonly devices: DeviceCredentials;
  readonly custom: CustomAuth;
  readonly certificates: CertificateRegistry;
  readonly sni: SniDomains;
}

export function authDeps(
  auth: AuthServices,
): Pick<ManagementDeps, 'tenancy' | 'accessKeys' | 'tokens' | 'deviceCredentials' | 'customAuth' | 'certificates' | 'sni'> {
  return {
    tenancy: auth.tenancy,
    accessKeys: auth.keys,
    tokens: auth.tokens,
    deviceCredentials: auth.devices,
    customAuth: auth.custom,
    certificates: auth.certificates,
    sni: auth.sni,
  };
}
