/** Every action of the compatible endpoint, by name. */
import type { RpcAction } from '../action.js';
import { certificateActions } from './certificates.js';
import { credentialActions } from './credentials.js';
import { customAuthActions } from './custom-auth.js';
import { instanceActions } from './instances.js';
import { messageActions } from './messages.js';
import { sessionActions } from './sessions.js';
import { groupActions, tokenActions } from './tokens-groups.js';
import { traceActions } from './traces.js';

export const RPC_ACTIONS: ReadonlyMap<string, RpcAction> = new Map(
  [...tokenActions, ...groupActions, ...messageActions, ...sessionActions, ...traceActions, ...credentialActions, ...customAuthActions, ...instanceActions, ...certificateActions].map(
    (a) => [a.name, a],
  ),
);
