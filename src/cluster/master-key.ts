/**
 * Nodes whose state is in JetStream share sealed secrets (AccessKeys, device credentials, custom
 * identities): every node must have the same `<dataDir>/master.key`. The first node leaves a
 * value sealed with its key in the metadata (claimed first: of nodes starting at once, one
 * leaves it); a node with another key refuses to start with the remedy, instead of failing every
 * authentication later.
 */
import { SecretBox, loadOrCreateMasterKey } from '../auth/crypto.js';
import type { Store } from '../store/types.js';
import type { ClaimStore } from './bootstrap-claim.js';

const CHECK_KEY = 'cluster.masterKeyCheck';
const CONTEXT = 'ferry cluster master key check';

export class MasterKeyMismatchError extends Error {
  override readonly name = 'MasterKeyMismatchError';
  constructor(dataDir: string) {
    super(
      `${dataDir}/master.key is not the master key of this cluster: the secrets in JetStream were sealed with another one. ` +
        'Every node of a cluster with clusterStore jetstream needs the same master.key: copy it from a node of the cluster into this ' +
        'node\'s data directory (mode 600) and start again (docs/cluster.md, "Master key").',
    );
  }
}

/**
 * `claims` (the JetStream store's, src/cluster/bootstrap-claim.ts): nodes starting at once on a
 * fresh cluster, each with its own master.key, agree on one check value (one KV create wins), so
 * all but the winner's refuse to start instead of each leaving its own.
 */
export async function checkClusterMasterKey(store: Store, dataDir: string, claims: ClaimStore | null = null): Promise<void> {
  const box = new SecretBox(loadOrCreateMasterKey(dataDir));
  const verify = (sealed: string): void => {
    try {
      box.open(sealed, CONTEXT);
    } catch {
      throw new MasterKeyMismatchError(dataDir);
    }
  };
  const sealed = await store.getMeta(CHECK_KEY);
  if (typeof sealed === 'string') return verify(sealed);
  let check = box.seal('ferry', CONTEXT);
  if (claims !== null) {
    let held: { value: unknown } | null;
    try {
      held = (await claims.writeClaim(CHECK_KEY, check, 0)) ? null : await claims.readClaim(CHECK_KEY);
    } catch (err) {
      throw new Error(`cannot check the master key with the other nodes (JetStream): ${(err as Error).message}`, { cause: err });
    }
    if (held !== null && typeof held.value === 'string') {
      verify(held.value);
      check = held.value;
    }
  }
  // Written with the next batch, not awaited: a check value lost to a failed write is written again at the next start.
  store.setMeta(CHECK_KEY, check);
}
