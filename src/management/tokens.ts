/** Tokens: ApplyToken, QueryToken, RevokeToken. */
import type { ApplyTokenInput, TokenService } from '../auth/tokens.js';
import type { ManagementDeps } from './deps.js';
import { requireService } from './errors.js';
import type { InstanceCheck } from './instance-check.js';

export class TokenAdmin {
  constructor(
    private readonly deps: Pick<ManagementDeps, 'tokens'>,
    private readonly check: InstanceCheck,
  ) {}

  apply(input: ApplyTokenInput): { token: string; expireTime: number } {
    return this.service().apply(input);
  }

  query(instanceId: string, token: string): boolean {
    this.check.require(instanceId);
    return this.service().query(instanceId, token);
  }

  revoke(instanceId: string, token: string): Promise<void> {
    this.check.require(instanceId);
    return this.service().revoke(instanceId, token);
  }

  private service(): TokenService {
    return requireService(this.deps.tokens, 'the token service');
  }
}
