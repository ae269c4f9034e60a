/**
 * P2P messages (reference §2.5): a publish to `<parentTopic>/p2p/<targetClientId>` reaches that
 * client without any subscription on its side.
 */
import type { IClientPublishOptions, MqttClient, Packet } from 'mqtt';
import { p2pTopic } from '../client-id.js';

/** Publishes `payload` to one client; resolves when the broker accepted it (PUBACK/PUBCOMP for QoS 1/2). */
export function sendP2P(
  client: MqttClient,
  parentTopic: string,
  targetClientId: string,
  payload: string | Buffer,
  options: IClientPublishOptions = { qos: 1 },
): Promise<Packet | undefined> {
  return client.publishAsync(p2pTopic(parentTopic, targetClientId), payload, options);
}
