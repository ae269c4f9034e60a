/**
 * CONNECT → CONNACK, as named steps: validate, authenticate, open the session (takeover or
 * resume), answer, then resend what the session owes the client.
 */
import { shownUsername } from '../../observability/logger.js';
import { randomBytes } from 'node:crypto';
import type { AuthVerdict } from '../../broker/hooks.js';
import type { ConnectPacket, Properties } from '../../protocol/packets.js';
import { Message } from '../../session/message.js';
import type { Channel } from '../channel.js';
import { RC } from '../reason.js';

const NEVER_EXPIRES = 0xffffffff;

/** The smaller of two limits where 0 or undefined means "none". */
function smallestLimit(a: number, b: number | undefined): number {
  if (b === undefined || b <= 0) return a;
  return a <= 0 ? b : Math.min(a, b);
}

/**
 * A CONNECT, answered in the turn that read it when nothing has to wait (the authentication modes
 * that answer at once, no cluster session fetch, no injected faults): no promise, no microtask
 * hop, no async function's state per connect (issue 15 §18). Otherwise the rest runs as an async
 * continuation, whose promise is returned for the channel to catch.
 */
export function handleConnect(ch: Channel, packet: ConnectPacket): Promise<void> | undefined {
  ch.state = 'authenticating';
  // Later packets wait in the decoder; the connection stops reading once bytes arrive meanwhile
  // (Connection.onData), not now: most clients send nothing before their CONNACK.
  ch.paused = true;
  ch.out.setProtocolVersion(packet.protocolVersion);

  // Client identifier [MQTT-3.1.3-6..9].
  let clientId = packet.clientId;
  let assigned = false;
  if (clientId.length === 0) {
    // 3.1 requires an id; 3.1.1 allows an empty one only with a clean session [MQTT-3.1.3-8].
    if (packet.protocolVersion === 3 || (packet.protocolVersion === 4 && !packet.clean)) {
      ch.broker.tracer?.refused(ch, clientId, packet.username, RC.ClientIdentifierNotValid, undefined);
      ch.refuseConnect(RC.ClientIdentifierNotValid);
      return undefined;
    }
    clientId = `ferry-${randomBytes(9).toString('base64url')}`;
    assigned = true;
  }
  if (packet.properties?.authenticationMethod !== undefined) {
    // Enhanced authentication (AUTH exchanges) is not offered [MQTT-4.12.0-1].
    ch.refuseConnect(RC.BadAuthenticationMethod);
    return undefined;
  }

  // Most modes answer in this turn (auth/connect.ts).
  const verdict = ch.broker.authenticate(packet, ch.peer);
  if (verdict instanceof Promise || ch.broker.faults !== null || ch.broker.sessionFetcher !== null) return connectLater(ch, packet, clientId, assigned, verdict);
  if (admit(ch, packet, clientId, verdict)) open(ch, packet, clientId, assigned, verdict);
  return undefined;
}

/** The rest of a CONNECT when something waits: the credential check, the cluster's session fetch, a test fault. */
async function connectLater(ch: Channel, packet: ConnectPacket, clientId: string, assigned: boolean, pending: Promise<AuthVerdict> | AuthVerdict): Promise<void> {
  const verdict = pending instanceof Promise ? await pending : pending;
  const faults = ch.broker.faults; // test-only (src/faults); null in production
  if (faults !== null) await faults.afterAuthenticate?.(clientId);
  if (ch.state !== 'authenticating') return; // the socket went away meanwhile
  if (!admit(ch, packet, clientId, verdict)) return;

  // Cluster (JetStream store): the session may be held by another node, which lets go first.
  const fetchSession = ch.broker.sessionFetcher;
  if (fetchSession !== null) {
    try {
      await fetchSession(verdict.instanceId, clientId, packet.clean);
    } catch (err) {
      ch.note('session-fetch-failed', { clientId, err: (err as Error).message }, 'cannot fetch the session from the cluster');
      if (sessionExpiry(ch, packet) > 0 && ch.state === 'authenticating') {
        // Not a fresh session to promise: refused as when the store cannot write.
        refuseUnstored(ch, packet, clientId, verdict.instanceId);
        return;
      }
    }
    if (ch.state !== 'authenticating') return; // the socket went away meanwhile
  }
  open(ch, packet, clientId, assigned, verdict);
}

/** A session that must outlive the connection, refused because it cannot be stored now: 0x88 / return code 3, counted. */
function refuseUnstored(ch: Channel, packet: ConnectPacket, clientId: string, instanceId: string): void {
  ch.broker.counters.connectsRefusedUnstored++;
  ch.broker.tracer?.refused(ch, clientId, packet.username, RC.ServerUnavailable, instanceId);
  ch.refuseConnect(RC.ServerUnavailable);
}

/** The session expiry the client asked for: 3.x persistent sessions last until the server's cap. */
function requestedExpiry(packet: ConnectPacket): number {
  return packet.protocolVersion === 5 ? (packet.properties?.sessionExpiryInterval ?? 0) : packet.clean ? 0 : NEVER_EXPIRES;
}

/** The session expiry granted: the client's, capped by the server's. */
function sessionExpiry(ch: Channel, packet: ConnectPacket): number {
  return Math.min(requestedExpiry(packet), ch.broker.options.maxSessionExpiry);
}

/**
 * The verdict and what the client asked for, checked and applied to the channel: identity, will,
 * keepalive, packet limits. False when the CONNECT was refused (the CONNACK is on its way).
 */
function admit(ch: Channel, packet: ConnectPacket, clientId: string, verdict: AuthVerdict): verdict is AuthVerdict & { ok: true } {
  const options = ch.broker.options;
  if (!verdict.ok) {
    ch.note(`connect-refused:${verdict.reasonCode}`, { clientId, username: shownUsername(packet.username), remote: ch.peer.remoteAddress, reasonCode: verdict.reasonCode }, 'connection refused');
    ch.broker.counters.authFailures++;
    ch.broker.tracer?.refused(ch, clientId, packet.username, verdict.reasonCode, verdict.instanceId);
    ch.refuseConnect(verdict.reasonCode);
    return false;
  }

  ch.clientId = clientId;
  ch.username = packet.username;
  ch.tenant = ch.broker.tenant(verdict.instanceId);
  ch.principal = verdict.principal;

  // The will is checked now, while the client's grants are known; it goes out unchecked later.
  // `$` topics are the broker's: no client may leave a will there.
  if (packet.will !== undefined && (packet.will.topic.startsWith('$') || !ch.broker.authorizeWill(ch, packet.will.topic))) {
    ch.note('will-denied', { topic: packet.will.topic }, 'will topic not authorized');
    ch.broker.tracer?.refused(ch, clientId, packet.username, RC.NotAuthorized, verdict.instanceId);
    ch.refuseConnect(RC.NotAuthorized);
    return false;
  }

  // Keepalive with the server's cap (MQTT 5 Server Keep Alive, 3.2.2.3.14): the broker's or the
  // authenticator's (the instance's), whichever is smaller.
  const maxKeepalive = smallestLimit(options.maxKeepalive, verdict.limits?.maxKeepalive);
  let keepalive = packet.keepalive;
  if (maxKeepalive > 0 && (keepalive === 0 || keepalive > maxKeepalive)) keepalive = maxKeepalive;
  ch.keepalive = keepalive;
  // Packets after CONNECT are held to the connection's own limit when it is below the broker's.
  const maxPacketSize = smallestLimit(options.maxPacketSize, verdict.limits?.maxPacketSize);
  if (maxPacketSize < options.maxPacketSize) ch.out.limitPacketSize(maxPacketSize);

  // Client-side limits (MQTT 5).
  const props = packet.properties;
  ch.clientMaxPacketSize = props?.maximumPacketSize ?? 0;
  ch.clientTopicAliasMax = props?.topicAliasMaximum ?? 0;
  ch.requestProblemInfo = props?.requestProblemInformation !== 0;

  if (sessionExpiry(ch, packet) > 0 && ch.broker.persistence?.writable === false) {
    // A session that must outlive the connection needs the store; while it cannot write, say
    // so (MQTT 5 0x88, 3.1.1 return code 3) instead of promising a session that would be lost.
    refuseUnstored(ch, packet, clientId, verdict.instanceId);
    return false;
  }

  if (packet.will !== undefined) {
    const will = packet.will;
    ch.will = new Message(
      will.topic,
      Buffer.from(will.payload), // kept for the connection's life: do not pin the read chunk
      will.qos,
      will.retain,
      forwardableProperties(will.properties),
      expiresAt(will.properties, Date.now()),
      null,
    );
    ch.willDelay = will.properties?.willDelayInterval ?? 0;
  }
  return true;
}

/** An admitted client: its session opened (takeover or resume), the CONNACK, then what the session owes it. */
function open(ch: Channel, packet: ConnectPacket, clientId: string, assigned: boolean, verdict: AuthVerdict & { ok: true }): void {
  const options = ch.broker.options;
  const requested = requestedExpiry(packet);
  const expiry = Math.min(requested, options.maxSessionExpiry);
  const { session, present } = ch.broker.openSession(ch, packet.clean, expiry);
  ch.session = session;
  ch.state = 'connected';

  const props = packet.properties;
  const keepalive = ch.keepalive;
  if (packet.protocolVersion === 5) {
    const connackProps: Properties = {};
    if (assigned) connackProps.assignedClientIdentifier = clientId;
    if (keepalive !== packet.keepalive) connackProps.serverKeepAlive = keepalive; // capped (admit)
    if (expiry !== requested) connackProps.sessionExpiryInterval = expiry;
    if (options.receiveMaximum < 65535) connackProps.receiveMaximum = options.receiveMaximum;
    connackProps.maximumPacketSize = smallestLimit(options.maxPacketSize, verdict.limits?.maxPacketSize);
    if (options.topicAliasMaximum > 0) connackProps.topicAliasMaximum = options.topicAliasMaximum;
    if (props?.requestResponseInformation === 1) connackProps.responseInformation = `response/${clientId}`;
    ch.out.writePacket({ type: 'connack', sessionPresent: present, reasonCode: RC.Success, properties: connackProps });
  } else {
    ch.out.writePacket({ type: 'connack', sessionPresent: present, reasonCode: RC.Success });
  }
  if (ch.logs('debug')) ch.log.debug({ version: packet.protocolVersion, clean: packet.clean, keepalive, present }, 'connected');
  ch.broker.channelConnected(ch);

  // [MQTT-4.4.0-1] resend unacknowledged messages, then whatever queued while offline.
  session.attach(ch, props?.receiveMaximum ?? 65535, options.maxInflight);
  ch.paused = false;
  ch.out.resumeProcessing();
}

/** The MQTT 5 properties that travel with an application message to its receivers (3.3.2.3). */
export function forwardableProperties(props: Properties | undefined): Properties | undefined {
  if (props === undefined) return undefined;
  const out: Properties = {};
  let any = false;
  if (props.payloadFormatIndicator !== undefined) {
    out.payloadFormatIndicator = props.payloadFormatIndicator;
    any = true;
  }
  if (props.contentType !== undefined) {
    out.contentType = props.contentType;
    any = true;
  }
  if (props.responseTopic !== undefined) {
    out.responseTopic = props.responseTopic;
    any = true;
  }
  if (props.correlationData !== undefined) {
    out.correlationData = props.correlationData;
    any = true;
  }
  if (props.userProperties !== undefined) {
    out.userProperties = props.userProperties;
    any = true;
  }
  return any ? out : undefined;
}

/** Absolute expiry time from a Message Expiry Interval, 0 when the message never expires. */
export function expiresAt(props: Properties | undefined, now: number): number {
  const interval = props?.messageExpiryInterval;
  return interval === undefined ? 0 : now + interval * 1000;
}
