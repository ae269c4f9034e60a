/**
 * The signature tool: the MQTT username and password of Signature mode and of DeviceCredential
 * mode, computed in this browser (nothing is sent anywhere):
 *   Signature|<AccessKeyId>|<InstanceId>              Base64(HMAC-SHA1(AccessKeySecret, clientId))
 *   DeviceCredential|<DeviceAccessKeyId>|<InstanceId>  Base64(HMAC-SHA1(DeviceAccessKeySecret, clientId))
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha1 } from '@noble/hashes/legacy.js';
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { Field, Section, Select } from '../components';

const MODES = ['Signature', 'DeviceCredential'] as const;

export function mqttPassword(secret: string, clientId: string): string {
  const enc = new TextEncoder();
  const mac = hmac(sha1, enc.encode(secret), enc.encode(clientId));
  return btoa(String.fromCharCode(...mac));
}

export function SignatureTool(): JSX.Element {
  const [mode, setMode] = useState<string>('Signature');
  const [keyId, setKeyId] = useState('');
  const [secret, setSecret] = useState('');
  const [instanceId, setInstanceId] = useState('');
  const [clientId, setClientId] = useState('');
  const ready = keyId !== '' && secret !== '' && instanceId !== '' && clientId !== '';
  const device = mode === 'DeviceCredential';
  return (
    <>
      <h1>Signature tool</h1>
      <p class="muted">Computes the MQTT username and password in this browser; nothing you type here is sent to the server.</p>
      <Section title="Inputs">
        <div class="form">
          <Select label="Mode" value={mode} options={MODES} onChange={setMode} />
          <Field label={device ? 'DeviceAccessKeyId' : 'AccessKey ID'} value={keyId} onInput={setKeyId} />
          <Field label={device ? 'DeviceAccessKeySecret' : 'AccessKey Secret'} type="password" value={secret} onInput={setSecret} autoComplete="off" />
          <Field label="Instance ID" value={instanceId} onInput={setInstanceId} />
          <Field label="Client ID" value={clientId} onInput={setClientId} placeholder="GID_sensors@@@device-1" />
        </div>
      </Section>
      <Section title="MQTT credentials">
        <dl class="facts">
          <dt>Client ID</dt>
          <dd class="mono">{clientId || '—'}</dd>
          <dt>Username</dt>
          <dd class="mono" data-testid="mqtt-username">
            {ready ? `${mode}|${keyId}|${instanceId}` : '—'}
          </dd>
          <dt>Password</dt>
          <dd class="mono" data-testid="mqtt-password">
            {ready ? mqttPassword(secret, clientId) : '—'}
          </dd>
        </dl>
      </Section>
    </>
  );
}
