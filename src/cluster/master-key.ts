/**
 * Nodes whose state is in JetStream share sealed secrets (AccessKeys, device credentials, custom
 * identities): every node must have the same `<dataDir>/master.key`. The first node leaves a
 * value sealed with its key in the metadata; a node with another key refuses to start with the
 * remedy, instead of failing every authentication later.
 */
import { SecretBox, loadOrCreateMasterKey } from '../auth/crypto.js';
import type { Store } from '../store/types.js';

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

export async function checkClusterMasterKey(store: Store, dataDir: string): Promise<void> {
  const box = new SecretBox(loadOrCreateMasterKey(dataDir));
  const sealed = await store.getMeta(CHECK_KEY);
  if (typeof sealed === 'string') {
    try {
      box.open(sealed, CONTEXT);
      return;
    } catch {
      throw new MasterKeyMismatchError(dataDir);
    }
  }
  // Written with the next batch, not awaited: a check value lost to a failed write is written again at the next start.
  store.setMeta(CHECK_KEY, box.seal('ferry', CONTEXT));
}
