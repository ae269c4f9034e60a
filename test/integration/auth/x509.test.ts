/**
 * X.509 device identity end to end: CA registration with proof of possession through the real
 * Alibaba Cloud SDK client (@alicloud/pop-core), devices connecting with mqtt.js over mutual TLS
 * with certificates made by openssl here, auto-registration, the client-id binding, and
 * inactivation/deletion cutting connected devices at once. Also SetSniConfig and the disaster
 * actions.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import type { IClientOptions } from 'mqtt';
import { issueCert, makeCa, makeSelfSignedCert, tempDir, type IssuedCert } from '../../helpers/index.js';
import { call, popClient, refused as rpcRefused } from '../api/pop-client.js';
import { rest } from '../api/rest-client.js';
import { ADMIN, closed, open, publish, received, refused, startAuthFerry, subscribe } from './fixture.js';

const INSTANCE = 'mqtt-default';

async function x509Ferry(t: TestContext): Promise<{ dir: string; server: ReturnType<typeof makeSelfSignedCert>; url: string; endpoint: string; pop: ReturnType<typeof popClient> }> {
  const dir = tempDir(t, 'ferry-x509-');
  const server = makeSelfSignedCert(dir);
  const { ferry } = await startAuthFerry(t, { tlsCert: server.certFile, tlsKey: server.keyFile, x509DeviceAuth: true });
  const endpoint = `http://127.0.0.1:${ferry.ports.http}`;
  return { dir, server, url: `mqtts://127.0.0.1:${ferry.ports.mqtts!}`, endpoint, pop: popClient(endpoint, ADMIN) };
}

function device(serverCa: string, cert: IssuedCert, clientId: string, extra: IClientOptions = {}): IClientOptions {
  return { clientId, key: cert.key, cert: cert.cert, ca: serverCa, rejectUnauthorized: true, ...extra };
}

function sn(pem: string): string {
  return new X509Certificate(pem).serialNumber.toUpperCase();
}

async function registerCa(pop: ReturnType<typeof popClient>, dir: string, ca: IssuedCert, instanceId = INSTANCE): Promise<string> {
  const code = (await call(pop, 'GetRegisterCode', { MqttInstanceId: instanceId }, 'GET'))['RegisterCode'] as string;
  const verification = issueCert(dir, ca, code);
  const answer = await call(pop, 'RegisterCaCertificate', { MqttInstanceId: instanceId, CaName: 'fleet-ca', CaContent: ca.cert, VerificationContent: verification.cert });
  return answer['Sn'] as string;
}

test('x509 - a CA registered with proof of possession admits the devices it issued, which are registered and listed', async (t) => {
  const { dir, server, url, endpoint, pop } = await x509Ferry(t);
  const ca = makeCa(dir, 'fleet-ca');
  const code = (await call(pop, 'GetRegisterCode', { MqttInstanceId: INSTANCE }, 'GET'))['RegisterCode'] as string;
  assert.match(code, /^[0-9a-f-]{36}$/);
  assert.equal((await call(pop, 'GetRegisterCode', { MqttInstanceId: INSTANCE }, 'GET'))['RegisterCode'], code, 'one code per instance');

  // No proof of possession: a verification certificate with another CN, or signed by another CA.
  const wrongCn = issueCert(dir, ca, 'not-the-code');
  await rpcRefused(call(pop, 'RegisterCaCertificate', { MqttInstanceId: INSTANCE, CaName: 'x', CaContent: ca.cert, VerificationContent: wrongCn.cert }), 'CertificateInvalid', 400);
  const other = makeCa(dir, 'other-ca');
  const otherSigned = issueCert(dir, other, code);
  await rpcRefused(call(pop, 'RegisterCaCertificate', { MqttInstanceId: INSTANCE, CaName: 'x', CaContent: ca.cert, VerificationContent: otherSigned.cert }), 'CertificateInvalid', 400);
  await rpcRefused(call(pop, 'RegisterCaCertificate', { MqttInstanceId: INSTANCE, CaName: 'x', CaContent: 'not a pem', VerificationContent: otherSigned.cert }), 'CertificateInvalid', 400);
  const leafAsCa = issueCert(dir, ca, 'leaf');
  await rpcRefused(call(pop, 'RegisterCaCertificate', { MqttInstanceId: INSTANCE, CaName: 'x', CaContent: leafAsCa.cert, VerificationContent: otherSigned.cert }), 'CertificateInvalid', 400);
  await rpcRefused(call(pop, 'RegisterCaCertificate', { MqttInstanceId: 'mqtt-nope', CaName: 'x', CaContent: ca.cert, VerificationContent: otherSigned.cert }), 'InstanceNotFound', 404);

  // A device of an unregistered CA is refused.
  const early = issueCert(dir, ca, 'device-1');
  assert.equal(await refused(t, url, device(server.cert, early, 'device-1')), 4);

  const verification = issueCert(dir, ca, code);
  const registered = await call(pop, 'RegisterCaCertificate', { MqttInstanceId: INSTANCE, CaName: 'fleet-ca', CaContent: ca.cert, VerificationContent: verification.cert });
  const caSn = registered['Sn'] as string;
  assert.equal(caSn, sn(ca.cert));
  await rpcRefused(call(pop, 'RegisterCaCertificate', { MqttInstanceId: INSTANCE, CaName: 'again', CaContent: ca.cert, VerificationContent: verification.cert }), 'CaCertificateAlreadyExists', 400);

  const got = (await call(pop, 'GetCaCertificate', { MqttInstanceId: INSTANCE, Sn: caSn }, 'GET'))['Data'] as Record<string, unknown>;
  assert.equal(got['CaName'], 'fleet-ca');
  assert.equal(got['Status'], '1');
  assert.equal(got['RegistrationCode'], code);
  assert.equal(sn(got['VerificationContent'] as string), sn(verification.cert));
  assert.match(got['ValidBegin'] as string, /^\d{13}$/);
  const cas = (await call(pop, 'ListCaCertificate', { MqttInstanceId: INSTANCE, PageNo: 1, PageSize: 10 }, 'GET'))['Data'] as Record<string, unknown>;
  assert.deepEqual([(cas['CaCertificateVOS'] as Array<Record<string, unknown>>).length, cas['PageNo'], cas['PageSize'], cas['Total']], [1, 1, 10, 1]);

  // The device connects over mutual TLS with the certificate the CA issued; it is registered.
  const dev = await open(t, url, device(server.cert, early, 'device-1'));
  assert.deepEqual(await subscribe(dev, 'fleet/#'), [1]);
  assert.equal(await publish(dev, 'fleet/telemetry', 'hello'), 0);
  assert.equal((await received(dev, 1))[0]!.payload, 'hello');
  const deviceSn = sn(early.cert);
  const listed = (await call(pop, 'ListDeviceCertificate', { MqttInstanceId: INSTANCE, PageNo: 1, PageSize: 10 }, 'GET'))['Data'] as Record<string, unknown>;
  const vos = listed['DeviceCertificateVOS'] as Array<Record<string, unknown>>;
  assert.deepEqual(vos.map((v) => [v['CaSn'], v['DeviceSn'], v['DeviceName'], v['Status']]), [[caSn, deviceSn, 'device-1', '1']]);
  const byCa = (await call(pop, 'ListDeviceCertificateByCaSn', { MqttInstanceId: INSTANCE, CaSn: caSn, PageNo: 1, PageSize: 10 }, 'GET'))['Data'] as Record<string, unknown>;
  assert.equal((byCa['DeviceCertificateVOS'] as unknown[]).length, 1);
  const one = (await call(pop, 'GetDeviceCertificate', { MqttInstanceId: INSTANCE, CaSn: caSn, DeviceSn: deviceSn }, 'GET'))['Data'] as Record<string, unknown>;
  assert.equal(sn(one['DeviceContent'] as string), deviceSn);
  await rpcRefused(call(pop, 'GetDeviceCertificate', { MqttInstanceId: INSTANCE, CaSn: caSn, DeviceSn: 'ABCDEF' }, 'GET'), 'DeviceCertificateNotFound', 404);

  // The serial is on the client's connection info (for status events), and the REST twins agree.
  const info = await rest(endpoint, ADMIN, 'GET', `/instances/${INSTANCE}/clients/device-1`);
  assert.equal(info.status, 200);
  assert.equal(info.body['certificateChainSn'], `${deviceSn},${caSn}`);
  const restDevices = await rest(endpoint, ADMIN, 'GET', `/instances/${INSTANCE}/device-certificates?caSn=${caSn}`);
  assert.deepEqual(restDevices.body.items?.map((d) => d['DeviceSn']), [deviceSn]);
  assert.equal((await rest(endpoint, ADMIN, 'GET', `/instances/${INSTANCE}/ca-certificates/${caSn}`)).body['Sn'], caSn);

  // Bound to its client id (the subject CN): another client id is refused.
  assert.equal(await refused(t, url, device(server.cert, early, 'device-2')), 4);
  // A certificate that another CA issued with the same CN is refused.
  assert.equal(await refused(t, url, device(server.cert, issueCert(dir, other, 'device-1'), 'device-1')), 4);
  // An intermediate CA the device sends along is followed up to the registered CA.
  const intermediate = issueCert(dir, ca, 'fleet-intermediate', { intermediate: true });
  const viaIntermediate = issueCert(dir, intermediate, 'device-3');
  const chained = await open(t, url, { ...device(server.cert, viaIntermediate, 'device-3'), cert: viaIntermediate.cert + intermediate.cert });
  const chainInfo = await rest(endpoint, ADMIN, 'GET', `/instances/${INSTANCE}/clients/device-3`);
  assert.equal(chainInfo.body['certificateChainSn'], `${sn(viaIntermediate.cert)},${sn(intermediate.cert)},${caSn}`);
  chained.client.end(true);

  // Clients without a certificate keep using the other modes on the same listener.
  const plain = await open(t, url, { clientId: 'no-cert', ca: server.cert });
  assert.equal(plain.connack.returnCode, 0);
});

test('x509 - inactivated or deleted certificates and CAs are refused and their devices disconnected at once', async (t) => {
  const { dir, server, url, pop } = await x509Ferry(t);
  const ca = makeCa(dir, 'fleet-ca');
  const caSn = await registerCa(pop, dir, ca);
  const cert = issueCert(dir, ca, 'device-1');
  const deviceSn = sn(cert.cert);
  const options = device(server.cert, cert, 'device-1');
  const ids = { MqttInstanceId: INSTANCE, CaSn: caSn, DeviceSn: deviceSn };

  let dev = await open(t, url, options);
  assert.equal((await call(pop, 'InactivateDeviceCertificate', ids))['DeviceSn'], deviceSn);
  await closed(dev);
  assert.equal(await refused(t, url, options), 4);
  assert.equal(((await call(pop, 'GetDeviceCertificate', ids, 'GET'))['Data'] as Record<string, unknown>)['Status'], '0');
  await call(pop, 'ActiveDeviceCertificate', ids);
  dev = await open(t, url, options);

  assert.equal((await call(pop, 'InactivateCaCertificate', { MqttInstanceId: INSTANCE, Sn: caSn }))['Sn'], caSn);
  await closed(dev);
  assert.equal(await refused(t, url, options), 4);
  await call(pop, 'ActiveCaCertificate', { MqttInstanceId: INSTANCE, Sn: caSn });
  dev = await open(t, url, options);

  // Deleting the device certificate disconnects the device; its next connect registers it anew.
  assert.equal((await call(pop, 'DeleteDeviceCertificate', ids))['DeviceSn'], deviceSn);
  await closed(dev);
  dev = await open(t, url, options);

  // Deleting the CA deletes its device certificates and refuses its devices.
  assert.equal((await call(pop, 'DeleteCaCertificate', { MqttInstanceId: INSTANCE, Sn: caSn }))['Sn'], caSn);
  await closed(dev);
  assert.equal(await refused(t, url, options), 4);
  const left = (await call(pop, 'ListDeviceCertificate', { MqttInstanceId: INSTANCE, PageNo: 1, PageSize: 10 }, 'GET'))['Data'] as Record<string, unknown>;
  assert.deepEqual(left['DeviceCertificateVOS'], []);
  await rpcRefused(call(pop, 'GetCaCertificate', { MqttInstanceId: INSTANCE, Sn: caSn }, 'GET'), 'CaCertificateNotFound', 404);
  await rpcRefused(call(pop, 'ListDeviceCertificateByCaSn', { MqttInstanceId: INSTANCE, CaSn: caSn, PageNo: 1, PageSize: 10 }, 'GET'), 'CaCertificateNotFound', 404);
});

test('x509 - SetSniConfig maps a TLS server name to its instance', async (t) => {
  const { dir, server, url, endpoint, pop } = await x509Ferry(t);
  assert.equal((await rest(endpoint, ADMIN, 'POST', '/instances', { instanceId: 'mqtt-fleet', mode: 'relaxed' })).status, 201);
  const ca = makeCa(dir, 'shared-ca');
  await registerCa(pop, dir, ca, INSTANCE);
  await registerCa(pop, dir, ca, 'mqtt-fleet');
  const cert = issueCert(dir, ca, 'device-1');
  const viaName = device(server.cert, cert, 'device-1', { servername: 'devices.example.com', rejectUnauthorized: false });

  // Before SetSniConfig the name means nothing: the device lands on the default instance.
  const before = await open(t, url, viaName);
  assert.equal((await rest(endpoint, ADMIN, 'GET', `/instances/${INSTANCE}/clients/device-1`)).body['connected'], true);
  before.client.end(true);
  await closed(before);

  const set = await call(pop, 'SetSniConfig', { MqttInstanceId: 'mqtt-fleet', DefaultCertificate: 'cert-default', SniConfig: 'devices.example.com#cert-1#secret;*.fleet.example.com#cert-2#pw' });
  assert.equal(set['Success'], true);
  await open(t, url, viaName);
  assert.equal((await rest(endpoint, ADMIN, 'GET', `/instances/mqtt-fleet/clients/device-1`)).body['connected'], true);
  assert.equal((await rest(endpoint, ADMIN, 'GET', `/instances/${INSTANCE}/clients/device-1`)).status, 404);
  // Anonymous clients belong to the default instance only: through the fleet's name they are refused.
  assert.equal(await refused(t, url, { clientId: 'anon', ca: server.cert, servername: 'x.fleet.example.com', rejectUnauthorized: false }), 5);
  const sni = await rest(endpoint, ADMIN, 'GET', '/instances/mqtt-fleet/sni');
  assert.deepEqual(sni.body, { instanceId: 'mqtt-fleet', defaultCertificate: 'cert-default', entries: [{ domain: 'devices.example.com', certificateId: 'cert-1' }, { domain: '*.fleet.example.com', certificateId: 'cert-2' }] });
  assert.ok(!JSON.stringify(sni.body).includes('secret'), 'passwords are not kept');

  await rpcRefused(call(pop, 'SetSniConfig', { MqttInstanceId: INSTANCE, DefaultCertificate: 'c', SniConfig: 'devices.example.com#c#p' }), 'SniDomainInUse', 400);
  await rpcRefused(call(pop, 'SetSniConfig', { MqttInstanceId: INSTANCE, DefaultCertificate: 'c', SniConfig: 'not a domain#c#p' }), 'ParameterFieldCheckFailed', 400);
  await rpcRefused(call(pop, 'SetSniConfig', { MqttInstanceId: INSTANCE }), 'MissingParameter', 400);
});

test('x509 - the disaster actions answer as for an instance without disaster recovery', async (t) => {
  const { endpoint } = await x509Ferry(t);
  const pop = popClient(endpoint, ADMIN);
  assert.equal((await rest(endpoint, ADMIN, 'POST', '/instances', { instanceId: 'mqtt-standby', mode: 'relaxed' })).status, 201);
  const down = await rpcRefused(call(pop, 'DisasterDowngrade', { InstanceId: INSTANCE, DowngradeInstanceId: 'mqtt-standby' }), 'DisasterRecoveryNotEnabled', 400);
  assert.match(String(down['Message']), /no disaster recovery/);
  await rpcRefused(call(pop, 'DisasterRecovery', { InstanceId: INSTANCE, RecoveryInstanceId: 'mqtt-standby' }), 'DisasterRecoveryNotEnabled', 400);
  await rpcRefused(call(pop, 'DisasterRecovery', { InstanceId: INSTANCE, RecoveryInstanceId: 'mqtt-missing' }), 'InstanceNotFound', 404);
  await rpcRefused(call(pop, 'DisasterDowngrade', { InstanceId: INSTANCE }), 'MissingParameter', 400);
});
