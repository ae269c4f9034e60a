/**
 * What auth does to a live client: tell it about its tokens (`$SYS/tokenExpireNotice`,
 * `$SYS/tokenInvalidNotice`, counted in `tokenNotices`) and close its connection.
 */
import type { Logger } from 'pino';
import type { ClientHandle } from '../broker/hooks.js';
import type { AuthCounters } from './service-types.js';
import {
  expireNotice,
  invalidNotice,
  TOKEN_EXPIRE_NOTICE_TOPIC,
  TOKEN_INVALID_NOTICE_TOPIC,
  type TokenClaims,
  type TokenCode,
  type TokenType,
} from './tokens.js';

export class ClientActions {
  constructor(
    private readonly counters: AuthCounters,
    private readonly log: Logger,
  ) {}

  notifyExpiring(client: ClientHandle, claims: TokenClaims): void {
    this.counters.tokenNotices++;
    client.notify(TOKEN_EXPIRE_NOTICE_TOPIC, expireNotice(claims));
  }

  notifyInvalid(client: ClientHandle, code: TokenCode, type: TokenType | undefined): void {
    this.counters.tokenNotices++;
    client.notify(TOKEN_INVALID_NOTICE_TOPIC, invalidNotice(code, type));
  }

  /** Closes the connection (if still open) and logs why. */
  disconnect(client: ClientHandle, reasonCode: number, why: string): void {
    if (!client.connected) return;
    this.log.info({ clientId: client.clientId, instanceId: client.instanceId, why }, 'connection closed by auth');
    client.disconnect(reasonCode);
  }
}
