/**
 * PUBLISHes of clients to the `$SYS` topics auth answers: `$SYS/uploadToken` (a token client
 * replaces one of its tokens) and `$SYS/enableOrderMsg` / `$SYS/getOfflineMsg` (acknowledged and
 * dropped: Ferry keeps each client's upstream order and pushes offline messages at connect already).
 */
import type { ClientHandle } from '../broker/hooks.js';
import { ReasonCode as RC } from '../protocol/reason-codes.js';
import type { ClientActions } from './client-actions.js';
import type { LiveConnections } from './live-connections.js';
import { principalOf } from './principal.js';
import { parseUpload, presentAs, TOKEN_CODE, TOKEN_UPLOAD_TOPIC, type TokenService } from './tokens.js';

export const ORDER_TOPIC = '$SYS/enableOrderMsg';
export const OFFLINE_TOPIC = '$SYS/getOfflineMsg';

export class SystemTopics {
  constructor(
    private readonly tokens: TokenService,
    private readonly live: LiveConnections,
    private readonly act: ClientActions,
  ) {}

  onSystemPublish(client: ClientHandle, topic: string, payload: Buffer): 'handled' | 'continue' {
    if (topic === ORDER_TOPIC || topic === OFFLINE_TOPIC) {
      // Ferry keeps each client's upstream order and pushes offline messages at connect already.
      return principalOf(client).mode === 'anonymous' ? 'continue' : 'handled';
    }
    if (topic !== TOKEN_UPLOAD_TOPIC) return 'continue';
    const p = principalOf(client);
    if (p.mode !== 'token') return 'continue';
    const upload = parseUpload(payload);
    if (upload === null) {
      this.act.notifyInvalid(client, TOKEN_CODE.forged, undefined);
      this.act.disconnect(client, RC.NotAuthorized, 'unparsable token upload');
      return 'handled';
    }
    const check = this.tokens.verify(upload.token, p.accessKeyId, p.instanceId);
    const held = check.ok ? presentAs(check.claims, upload.type) : null;
    if (held === null) {
      const code = check.ok ? TOKEN_CODE.typeMismatch : check.code;
      this.act.notifyInvalid(client, code, upload.type);
      this.act.disconnect(client, RC.NotAuthorized, `uploaded token invalid (code ${code})`);
      return 'handled';
    }
    if (p.grant !== null) this.live.replaceToken(client, p.grant, held);
    return 'handled';
  }
}
