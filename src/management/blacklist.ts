/** The client id blacklist of an instance (kept by custom auth); adding one cuts it if connected. */
import type { BlacklistEntry, CustomAuth } from '../auth/custom-auth.js';
import { ReasonCode } from '../protocol/reason-codes.js';
import type { ManagementDeps } from './deps.js';
import { requireService } from './errors.js';
import type { InstanceCheck } from './instance-check.js';

export class Blacklist {
  constructor(
    private readonly deps: Pick<ManagementDeps, 'broker' | 'customAuth'>,
    private readonly check: InstanceCheck,
  ) {}

  async add(instanceId: string, clientId: string): Promise<void> {
    this.check.require(instanceId);
    await this.service().blacklistAdd(instanceId, clientId);
    // A blacklisted client that is connected now is cut too.
    this.deps.broker.client(clientId, instanceId)?.disconnect(ReasonCode.Banned);
  }

  delete(instanceId: string, clientId: string): Promise<void> {
    this.check.require(instanceId);
    return this.service().blacklistDelete(instanceId, clientId);
  }

  query(instanceId: string, clientId?: string): BlacklistEntry[] {
    this.check.require(instanceId);
    return this.service().blacklistQuery(instanceId, clientId);
  }

  private service(): CustomAuth {
    return requireService(this.deps.customAuth, 'custom authentication');
  }
}
