/**
 * How the managed service's server SDK logs in (reference §6.1), reproduced exactly, for the
 * AMQP endpoint's tests: username Base64("0:<instanceId>:<accessKeyId>"), password
 * Base64(HmacSHA1(secret, signKey)), client property signKey = the ms timestamp.
 */
import { createHmac } from 'node:crypto';
import type { TestContext } from 'node:test';
import amqp, { type ChannelModel } from 'amqplib';

export interface SdkKey {
  readonly id: string;
  readonly secret: string;
}

export interface SdkLogin {
  readonly username: string;
  readonly password: string;
  readonly clientProperties: Record<string, string>;
}

/** UserUtils / AliyunCredentialsProvider of the Java SDK, byte for byte. */
export function sdkLogin(instanceId: string, key: SdkKey, signKey = String(Date.now()), options: { customAuth?: boolean } = {}): SdkLogin {
  return {
    username: Buffer.from(`0:${instanceId}:${key.id}`).toString('base64'),
    password: createHmac('sha1', key.secret).update(signKey).digest('base64'),
    clientProperties: { signKey, ...(options.customAuth === true ? { customAuth: 'true' } : {}) },
  };
}

/** An amqplib connection to Ferry's AMQP port with an SDK login (vhost MQTT), closed after the test. */
export async function connectAmqp(t: TestContext, port: number, login: SdkLogin, options: { heartbeat?: number; frameMax?: number } = {}): Promise<ChannelModel> {
  const connection = await amqp.connect(
    { protocol: 'amqp', hostname: '127.0.0.1', port, username: login.username, password: login.password, vhost: 'MQTT', heartbeat: options.heartbeat ?? 0, frameMax: options.frameMax ?? 0 },
    { clientProperties: login.clientProperties },
  );
  connection.on('error', () => undefined);
  // close() on a connection whose server is gone (Ferry killed, maybe by an earlier teardown)
  // never settles: give it a moment, then let the socket go.
  let closed = false;
  connection.on('close', () => (closed = true));
  t.after(async () => {
    if (closed) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([connection.close().catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, 2000)))]);
    clearTimeout(timer);
  });
  return connection;
}
