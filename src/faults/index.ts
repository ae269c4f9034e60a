/**
 * Test-only fault hooks: a way for tests to make the broker fail where a bug would, so they can
 * check that the failure stays inside one connection (docs/operations.md, "Unexpected errors").
 *
 * Off by default and out of reach of the network: nothing but code in the same process can turn
 * them on, by assigning `broker.faults` (a RunningFerry exposes `broker`). There is no config key,
 * `FERRY_*` variable, flag or API route for them, and the CLI never sets them. When `broker.faults`
 * is null (always, in production) each hook point costs one null check.
 *
 *   ferry.broker.faults = failOn({ packetType: 'subscribe', clientId: 'victim' });
 */
import type { PacketType } from '../protocol/packets.js';

/** What a hook knows about the connection it runs for. */
export interface FaultTarget {
  readonly clientId: string;
}

export interface FaultHooks {
  /** Before the channel handles a packet (synchronously, in the socket's data callback). Throw to fail. */
  beforePacket?(client: FaultTarget, packetType: PacketType): void;
  /**
   * In CONNECT's async continuation, after authentication: reject (or throw) to fail there, where
   * an exception is a rejected promise rather than a throw up the socket callback.
   */
  afterAuthenticate?(clientId: string): Promise<void> | void;
}

/** The error an injected fault throws, so tests and logs can tell it from a real one. */
export class InjectedFault extends Error {
  override readonly name = 'InjectedFault';
}

export interface FaultMatch {
  /** Only for this client id (default: any client). */
  clientId?: string;
  /** Throw before handling packets of this type (sync), or 'connect-continuation' (async, after authentication). */
  packetType: PacketType | 'connect-continuation';
}

/** Hooks that fail every match with an InjectedFault; `hits` counts the faults raised. */
export function failOn(match: FaultMatch): FaultHooks & { hits: number } {
  const hooks = {
    hits: 0,
    beforePacket(client: FaultTarget, packetType: PacketType): void {
      if (packetType !== match.packetType || (match.clientId !== undefined && client.clientId !== match.clientId)) return;
      hooks.hits++;
      throw new InjectedFault(`injected fault before handling ${packetType}`);
    },
    afterAuthenticate(clientId: string): Promise<void> {
      if (match.packetType !== 'connect-continuation' || (match.clientId !== undefined && clientId !== match.clientId)) {
        return Promise.resolve();
      }
      hooks.hits++;
      return Promise.reject(new InjectedFault('injected fault in the CONNECT continuation'));
    },
  };
  return hooks;
}
