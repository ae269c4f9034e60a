/**
 * `connectDevice()`: mqtt.js with the managed service's credentials filled in, the client id
 * checked, and (Token mode) the token refresher attached. Everything else is plain mqtt.js: the
 * answer's `mqtt` is the MqttClient, with every option and event of mqtt.js.
 */
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type IClientPublishOptions, type MqttClient, type Packet } from 'mqtt';
import { checkClientId } from '../client-id.js';
import { FerryInputError } from '../errors.js';
import { credentials, type DeviceAuth } from './credentials.js';
import { sendP2P } from './p2p.js';
import { TokenRefresher, type TokenRefreshOptions } from './token-refresher.js';

export interface DeviceOptions {
  /** `mqtt://host:1883`, `mqtts://host:8883`, `ws://host:8083/mqtt`, `wss://…`. */
  readonly url: string;
  readonly clientId: string;
  readonly auth: DeviceAuth;
  /**
   * Check that clientId is `GroupID@@@DeviceID` (what a strict instance requires). Default: true
   * for every mode but 'custom', 'anonymous' and 'x509' (their ids may be free-form on relaxed
   * instances; an X.509 device's id is its certificate's CN).
   */
  readonly strictClientId?: boolean;
  /** Token mode: renew tokens before they expire and upload them (token-refresher.ts). */
  readonly tokenRefresh?: TokenRefreshOptions;
  /** Any other mqtt.js option (protocolVersion, clean, keepalive, reconnectPeriod, will, ca, ...). */
  readonly mqtt?: Omit<IClientOptions, 'clientId' | 'username' | 'password'>;
}

export interface Device {
  readonly mqtt: MqttClient;
  readonly clientId: string;
  /** The token refresher (Token mode with `tokenRefresh`), else null. */
  readonly tokens: TokenRefresher | null;
  /** Publishes to `<parentTopic>/p2p/<targetClientId>` (QoS 1 unless told otherwise). */
  sendP2P(parentTopic: string, targetClientId: string, payload: string | Buffer, options?: IClientPublishOptions): Promise<Packet | undefined>;
  /** Stops the refresher and closes the connection (DISCONNECT unless `force`). */
  end(force?: boolean): Promise<void>;
}

/** mqtt.js options for a device: the credentials of `auth` for `clientId`. */
export function deviceMqttOptions(options: DeviceOptions): IClientOptions {
  const auth = options.auth;
  const strict = options.strictClientId ?? !(auth.mode === 'custom' || auth.mode === 'anonymous' || auth.mode === 'x509');
  if (strict) {
    const reason = checkClientId(options.clientId);
    if (reason !== null) throw new FerryInputError(`client id "${options.clientId}": ${reason}`);
  }
  if (options.tokenRefresh !== undefined && options.auth.mode !== 'token') throw new FerryInputError('tokenRefresh needs auth.mode "token"');
  const tls = auth.mode === 'x509' ? { cert: readPem(auth.certFile, 'certFile'), key: readPem(auth.keyFile, 'keyFile'), ...(auth.caFile === undefined ? {} : { ca: readPem(auth.caFile, 'caFile') }) } : {};
  return { ...options.mqtt, ...tls, clientId: options.clientId, ...credentials(auth, options.clientId) };
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new FerryInputError(`cannot read ${what} ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Connects and resolves after the CONNACK. A refused CONNECT rejects with mqtt.js's error (its
 * `code` is the CONNACK return / reason code), an unreachable server with "Couldn't connect to
 * server"; neither leaves a reconnect loop behind.
 */
export async function connectDevice(options: DeviceOptions): Promise<Device> {
  const mqttOptions = deviceMqttOptions(options);
  // allowRetries false: a first connection that cannot be made rejects instead of retrying
  // quietly forever; once connected, mqtt.js reconnects as its options say.
  const client = await mqtt.connectAsync(options.url, mqttOptions, false);
  const auth = options.auth;
  const tokens = auth.mode === 'token' && options.tokenRefresh !== undefined ? new TokenRefresher(client, auth.tokens, options.tokenRefresh) : null;
  return {
    mqtt: client,
    clientId: options.clientId,
    tokens,
    sendP2P: (parentTopic, target, payload, publishOptions) => sendP2P(client, parentTopic, target, payload, publishOptions),
    async end(force = false) {
      tokens?.stop();
      await client.endAsync(force);
    },
  };
}
