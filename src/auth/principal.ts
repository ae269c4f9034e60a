/** What authentication attaches to a connection, and how to read it back from a client handle. */
import type { ClientHandle } from '../broker/hooks.js';
import type { TopicAcl } from '../external-auth/acl.js';
import type { CustomIdentity } from './custom-auth.js';
import type { TokenClaims, TokenGrant } from './tokens.js';

export type AuthMode = 'anonymous' | 'signature' | 'token' | 'device' | 'custom' | 'certificate' | 'external';

/** What authentication attached to a connection (ClientHandle.principal). */
export type Principal =
  | { readonly mode: 'anonymous'; readonly instanceId: string }
  | { readonly mode: 'signature'; readonly instanceId: string; readonly accessKeyId: string }
  | {
      readonly mode: 'token';
      readonly instanceId: string;
      readonly accessKeyId: string;
      /** Tokens presented at CONNECT; the live set is `grant` once connected. */
      readonly initial: readonly TokenClaims[];
      grant: TokenGrant | null;
    }
  | { readonly mode: 'device'; readonly instanceId: string; readonly deviceAccessKeyId: string }
  | { readonly mode: 'custom'; readonly instanceId: string; readonly identity: CustomIdentity }
  | {
      readonly mode: 'certificate';
      readonly instanceId: string;
      /** The registered CA that issued the device certificate, and the device certificate's serial. */
      readonly caSn: string;
      readonly deviceSn: string;
      /** Serials from the device certificate up to the CA (`certificateChainSn` of status events). */
      readonly chainSn: string;
    }
  | {
      /** Let in by the instance's JWT or HTTP callback (src/external-auth). */
      readonly mode: 'external';
      readonly instanceId: string;
      readonly provider: 'jwt' | 'http';
      /** Topic permissions of the answer; null = every topic of the instance. */
      readonly acl: TopicAcl | null;
      /** When the JWT expires (ms): the connection is closed then. */
      readonly expiresAt?: number;
    };

/** The principal of a connection; a client without one is anonymous on its instance. */
export function principalOf(client: ClientHandle): Principal {
  return (client.principal as Principal | undefined) ?? { mode: 'anonymous', instanceId: client.instanceId };
}

/** The `certificateChainSn` of a client connected with an X.509 device certificate, else undefined. */
export function certificateChainSnOf(client: Pick<ClientHandle, 'principal'>): string | undefined {
  const p = client.principal as Principal | undefined;
  return p?.mode === 'certificate' ? p.chainSn : undefined;
}
