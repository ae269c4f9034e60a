import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Teardown } from './temp.js';

/**
 * An MQTT 5 mqtt.js client connected to `127.0.0.1:port` (no reconnects, so a refused or dropped
 * connection shows in the test), ended when the test ends.
 */
export async function mqttClient(t: Teardown, port: number, clientId: string, options: IClientOptions = {}): Promise<MqttClient> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId, reconnectPeriod: 0, protocolVersion: 5, ...options });
  t.after(() => client.endAsync(true));
  return client;
}
