/**
 * A Ferry assembled for API tests: memory store, broker (anonymous MQTT clients on the default
 * instance), tenancy and auth services, the management facade, the RPC endpoint and the REST API
 * on an HTTP port 0, and an MQTT TCP listener on port 0. Torn down after the test.
 *
 * It builds the services itself because the process composition (src/server.ts) wires them only
 * once issue 4's auth service is in; the modules under test are the same.
 */
import { AccessKeys } from '../../../src/auth/access-keys.js';
import { systemClock } from '../../../src/auth/clock.js';
import { SecretBox } from '../../../src/auth/crypto.js';
import { CustomAuth } from '../../../src/auth/custom-auth.js';
import { DeviceCredentials } from '../../../src/auth/device-credentials.js';
import { TokenService } from '../../../src/auth/tokens.js';
import { Broker } from '../../../src/broker/broker.js';
import { DEFAULT_BROKER_OPTIONS } from '../../../src/broker/options.js';
import { rpcModule } from '../../../src/api/rpc/endpoint.js';
import { restModule } from '../../../src/api/rest/module.js';
import { createHttpServer, listenHttp, type HttpModule } from '../../../src/http/server.js';
import { Management, type ManagementDeps } from '../../../src/management/management.js';
import { createLogger } from '../../../src/observability/logger.js';
import { MemoryStore } from '../../../src/store/index.js';
import { Tenancy } from '../../../src/tenancy/registry.js';
import { startListeners } from '../../../src/transport/listeners.js';
import type { Teardown } from '../../helpers/index.js';
import { testLogLevel } from '../../helpers/index.js';

export const ADMIN = { id: 'FERRYADMIN0001', secret: 'admin-secret-0123456789' };

export interface ApiHarness {
  readonly management: Management;
  readonly broker: Broker;
  readonly tenancy: Tenancy;
  readonly keys: AccessKeys;
  readonly httpPort: number;
  readonly mqttPort: number;
  readonly endpoint: string;
}

export interface HarnessOptions {
  /** Extra HTTP modules (the REST API). */
  readonly modules?: (management: Management) => HttpModule[];
  readonly deps?: Partial<ManagementDeps>;
}

export async function startApi(t: Teardown, options: HarnessOptions = {}): Promise<ApiHarness> {
  const logger = createLogger({ level: testLogLevel() });
  const store = new MemoryStore();
  const box = SecretBox.ephemeral();
  const tenancy = await Tenancy.open(store);
  const keys = await AccessKeys.open(store, box);
  await keys.ensureBootstrap(ADMIN);
  const tokens = await TokenService.open(store, box, keys, tenancy, systemClock);
  const deviceCredentials = new DeviceCredentials(store, box, tenancy);
  const customAuth = await CustomAuth.open(store, box, tenancy);
  const broker = new Broker({ ...DEFAULT_BROKER_OPTIONS }, logger, null);
  const management = await Management.open({ broker, store, tenancy, accessKeys: keys, tokens, deviceCredentials, customAuth, ...options.deps });
  const http = await createHttpServer({ logger, modules: [rpcModule({ management }), restModule({ management }), ...(options.modules?.(management) ?? [])] });
  const httpPort = await listenHttp(http, '127.0.0.1', 0);
  const listeners = await startListeners([{ name: 'mqtt', kind: 'tcp', host: '127.0.0.1', port: 0 }], broker, logger);
  t.after(async () => {
    listeners.stopAccepting();
    await broker.close();
    await listeners.close();
    await http.close();
    await store.close();
  });
  return { management, broker, tenancy, keys, httpPort, mqttPort: listeners.ports['mqtt']!, endpoint: `http://127.0.0.1:${httpPort}` };
}
