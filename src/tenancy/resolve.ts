/**
 * Which instance a connecting client belongs to (PRODUCT.md, "Resource model"):
 *
 *   1. the instance id in the username (`Mode|AccessKey|InstanceId`),
 *   2. the instance the listener it reached is bound to (config `listenerInstances`),
 *   3. the TLS SNI name or WebSocket Host: a domain given to an instance with SetSniConfig
 *      (src/x509/sni-config.ts), else its first label (`<instanceId>.<domain>`) when that names
 *      an existing instance,
 *   4. otherwise the default instance.
 *
 * The sources must agree: a username naming instance A on a listener bound to B, or through the
 * host name of B, is refused ("wrong instance") instead of silently picking one.
 */

export type InstanceSource = 'username' | 'listener' | 'host' | 'default';

export interface ResolveInput {
  /** Instance id from the username, when the authentication mode carries one. */
  readonly usernameInstanceId?: string | undefined;
  /** Name of the listener the client reached (PeerInfo.listener). */
  readonly listener: string;
  /** TLS SNI name or WebSocket Host header without port (PeerInfo.serverName). */
  readonly serverName?: string | undefined;
}

export interface ResolveContext {
  readonly defaultInstanceId: string;
  /** Listener name → instance id. */
  readonly listenerInstances: Readonly<Record<string, string>>;
  readonly exists: (instanceId: string) => boolean;
  /** The instance a server name was given to (SetSniConfig), if any. */
  readonly domainInstance?: (serverName: string) => string | undefined;
}

export type Resolution =
  | { readonly ok: true; readonly instanceId: string; readonly source: InstanceSource }
  | { readonly ok: false; readonly reason: 'unknown-instance' | 'instance-mismatch'; readonly message: string };

/** The instance named by a host name's first label, if that instance exists. */
export function hostInstance(
  serverName: string | undefined,
  exists: (id: string) => boolean,
  domainInstance?: (serverName: string) => string | undefined,
): string | undefined {
  if (serverName === undefined || serverName.length === 0) return undefined;
  const owner = domainInstance?.(serverName);
  if (owner !== undefined && exists(owner)) return owner;
  const dot = serverName.indexOf('.');
  if (dot <= 0) return undefined;
  const label = serverName.slice(0, dot).toLowerCase();
  return exists(label) ? label : undefined;
}

export function resolveInstance(input: ResolveInput, context: ResolveContext): Resolution {
  const bound = Object.hasOwn(context.listenerInstances, input.listener) ? context.listenerInstances[input.listener] : undefined;
  const host = hostInstance(input.serverName, context.exists, context.domainInstance);
  const named = input.usernameInstanceId;
  if (named !== undefined) {
    if (!context.exists(named)) return { ok: false, reason: 'unknown-instance', message: `instance ${named} does not exist` };
    if (bound !== undefined && bound !== named) {
      return { ok: false, reason: 'instance-mismatch', message: `listener ${input.listener} serves instance ${bound}, not ${named}` };
    }
    if (host !== undefined && host !== named) {
      return { ok: false, reason: 'instance-mismatch', message: `host ${input.serverName ?? ''} serves instance ${host}, not ${named}` };
    }
    return { ok: true, instanceId: named, source: 'username' };
  }
  if (bound !== undefined) {
    if (!context.exists(bound)) return { ok: false, reason: 'unknown-instance', message: `listener ${input.listener} is bound to missing instance ${bound}` };
    if (host !== undefined && host !== bound) {
      return { ok: false, reason: 'instance-mismatch', message: `host ${input.serverName ?? ''} serves instance ${host}, not ${bound}` };
    }
    return { ok: true, instanceId: bound, source: 'listener' };
  }
  if (host !== undefined) return { ok: true, instanceId: host, source: 'host' };
  return { ok: true, instanceId: context.defaultInstanceId, source: 'default' };
}
