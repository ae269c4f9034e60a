/** Token mode, device credentials and custom authentication (identities, permissions). */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, query, seg, type Page } from '../api';
import { DangerButton, ErrorBox, Field, Form, Pager, Section, Select, Status, Table, useAction, useCan, useLoad, usePager } from '../components';
import { time } from '../format';

/** A secret or token shown once, selectable, with a warning. */
function Secret(props: { label: string; value: string; note?: string }): JSX.Element {
  return (
    <div class="note secret" role="status">
      <p>
        <strong>{props.label}:</strong> <span class="secret-box" data-testid="secret">{props.value}</span>
      </p>
      <p class="small">{props.note ?? 'Copy it now: it is not shown again.'}</p>
    </div>
  );
}

export function Tokens(props: { instanceId: string }): JSX.Element {
  const can = useCan();
  const base = `/instances/${seg(props.instanceId)}/tokens`;
  const action = useAction();
  const [resources, setResources] = useState('');
  const [actions, setActions] = useState('R,W');
  const [minutes, setMinutes] = useState('60');
  const [issued, setIssued] = useState<{ token: string; expireTime: number } | undefined>(undefined);
  const [check, setCheck] = useState('');
  const [valid, setValid] = useState<boolean | undefined>(undefined);
  const apply = (): void =>
    void action.run('Token issued', async () => {
      setIssued(
        await api<{ token: string; expireTime: number }>('POST', base, {
          resources: resources.split(',').map((s) => s.trim()).filter((s) => s !== ''),
          actions,
          expireTime: Date.now() + Number(minutes) * 60_000,
        }),
      );
    });
  return (
    <>
      <h1>Tokens</h1>
      <Status note={action.note} />
      {can('mq:ApplyToken') ? (
        <Section title="Apply for a device token">
          <Form label="Apply for a token" onSubmit={apply}>
            <Field label="Resources (topics, comma-separated)" value={resources} onInput={setResources} required placeholder="telemetry/device-1, cmd/device-1" />
            <div class="form inline">
              <Select label="Actions" value={actions} options={['R', 'W', 'R,W']} onChange={setActions} />
              <Field label="Valid for (minutes)" type="number" value={minutes} onInput={setMinutes} required />
            </div>
            <button type="submit" class="primary" disabled={action.busy}>
              Apply for token
            </button>
          </Form>
          {issued === undefined ? null : <Secret label={`Token (expires ${time(issued.expireTime)})`} value={issued.token} />}
        </Section>
      ) : null}
      {can('mq:QueryToken') || can('mq:RevokeToken') ? (
        <Section title="Check or revoke a token">
          <Form label="Check a token" class="form inline" onSubmit={() => void action.run('Token checked', async () => setValid((await api<{ valid: boolean }>('POST', `${base}/query`, { token: check })).valid))}>
            <Field label="Token" value={check} onInput={setCheck} required />
            {can('mq:QueryToken') ? <button type="submit">Check token</button> : null}
            {can('mq:RevokeToken') ? <DangerButton label="Revoke token" onConfirm={() => void action.run('Token revoked', () => api('POST', `${base}/revoke`, { token: check }))} /> : null}
          </Form>
          {valid === undefined ? null : <p role="status">{valid ? 'The token is valid.' : 'The token is not valid.'}</p>}
        </Section>
      ) : null}
    </>
  );
}

interface Credential {
  ClientId: string;
  DeviceAccessKeyId: string;
  DeviceAccessKeySecret: string;
  CreateTime: number;
  UpdateTime: number;
}

export function Credentials(props: { instanceId: string }): JSX.Element {
  const can = useCan();
  const base = `/instances/${seg(props.instanceId)}/device-credentials`;
  const [group, setGroup] = useState('');
  const [applied, setApplied] = useState('');
  const pager = usePager();
  const list = useLoad(
    () => (applied === '' ? Promise.resolve(undefined) : api<Page<string>>('GET', `${base}${query({ groupId: applied, limit: 50, cursor: pager.cursor })}`)),
    [base, applied, pager.cursor],
  );
  const action = useAction();
  const [clientId, setClientId] = useState('');
  const [shown, setShown] = useState<Credential | undefined>(undefined);
  const show = (verb: string, method: string, path: string, body?: unknown): void =>
    void action.run(verb, async () => {
      setShown(await api<Credential>(method, path, body));
    });
  return (
    <>
      <h1>Device credentials</h1>
      <Status note={action.note} />
      <ErrorBox error={list.error} />
      {can('mq:RegisterDeviceCredential') ? (
        <Section title="Register a device">
          <Form label="Register a device credential" class="form inline" onSubmit={() => show(`Credential of ${clientId} registered`, 'POST', base, { clientId })}>
            <Field label="Client ID" value={clientId} onInput={setClientId} required placeholder="GID_sensors@@@device-1" />
            <button type="submit" class="primary" disabled={action.busy}>
              Register credential
            </button>
          </Form>
        </Section>
      ) : null}
      {shown === undefined ? null : (
        <Section title={`Credential of ${shown.ClientId}`}>
          <dl class="facts">
            <dt>DeviceAccessKeyId</dt>
            <dd class="mono">{shown.DeviceAccessKeyId}</dd>
            <dt>DeviceAccessKeySecret</dt>
            <dd>
              <span class="secret-box" data-testid="secret">
                {shown.DeviceAccessKeySecret}
              </span>
            </dd>
            <dt>Updated</dt>
            <dd>{time(shown.UpdateTime)}</dd>
          </dl>
          <div class="actions">
            {can('mq:RefreshDeviceCredential') ? <DangerButton label="Issue a new secret" onConfirm={() => show('New secret issued', 'POST', `${base}/${seg(shown.ClientId)}/refresh`)} /> : null}
            {can('mq:UnRegisterDeviceCredential') ? (
              <DangerButton label="Unregister" onConfirm={() => void action.run(`Credential of ${shown.ClientId} unregistered`, () => api('DELETE', `${base}/${seg(shown.ClientId)}`)).then((ok) => ok && (setShown(undefined), list.reload()))} />
            ) : null}
          </div>
        </Section>
      )}
      <Section title="Devices of a group">
        <Form
          label="List devices of a group"
          class="form inline"
          onSubmit={() => {
            pager.reset();
            setApplied(group.trim());
          }}
        >
          <Field label="Group ID" value={group} onInput={setGroup} required placeholder="GID_sensors" />
          <button type="submit">List devices</button>
        </Form>
        {applied === '' ? null : (
          <>
            <Table
              caption={`Client ids of ${applied} with a credential`}
              rows={list.data?.items}
              rowKey={(c) => c}
              columns={[
                { label: 'Client ID', value: (c) => c },
                ...(can('mq:GetDeviceCredential') ? [{ label: 'Actions', value: (c: string) => <button type="button" onClick={() => show(`Credential of ${c}`, 'GET', `${base}/${seg(c)}`)}>Show credential</button> }] : []),
              ]}
            />
            <Pager page={pager.page} total={list.data?.total} next={list.data?.next} onNext={() => list.data?.next && pager.next(list.data.next)} onPrev={pager.prev} />
          </>
        )}
      </Section>
    </>
  );
}

interface Identity {
  Username: string;
  IdentityType: 'USER' | 'CLIENT';
  ClientId?: string;
  SignMode?: string;
  [key: string]: unknown;
}

interface Permission {
  Identity: string;
  IdentityType: 'USER' | 'CLIENT';
  Topic: string;
  PermitAction: string;
  Effect: string;
}

export function CustomAuth(props: { instanceId: string }): JSX.Element {
  const can = useCan();
  const base = `/instances/${seg(props.instanceId)}`;
  const identities = useLoad(() => api<Page<Identity>>('GET', `${base}/identities${query({ limit: 1000 })}`), [base]);
  const permissions = useLoad(() => api<Page<Permission>>('GET', `${base}/permissions${query({ limit: 1000 })}`), [base]);
  const action = useAction();
  const [username, setUsername] = useState('');
  const [identityType, setIdentityType] = useState('USER');
  const [clientId, setClientId] = useState('');
  const [secret, setSecret] = useState('');
  const [signMode, setSignMode] = useState('SIGNED');
  const [pIdentity, setPIdentity] = useState('');
  const [pType, setPType] = useState('USER');
  const [pTopic, setPTopic] = useState('');
  const [pAction, setPAction] = useState('PUB_SUB');
  const [pEffect, setPEffect] = useState('ALLOW');
  return (
    <>
      <h1>Custom authentication</h1>
      <Status note={action.note} />
      <ErrorBox error={identities.error ?? permissions.error} />
      <Section title="Identities">
        <Table
          caption="Custom identities (username + secret, per user or per client)"
          rows={identities.data?.items}
          rowKey={(i) => `${i.IdentityType}/${i.Username}/${i.ClientId ?? ''}`}
          columns={[
            { label: 'Username', value: (i) => i.Username },
            { label: 'Type', value: (i) => i.IdentityType },
            { label: 'Client ID', value: (i) => i.ClientId ?? '—' },
            { label: 'Sign mode', value: (i) => i.SignMode ?? '—' },
            ...(can('mq:DeleteCustomAuthIdentity')
              ? [{ label: 'Actions', value: (i: Identity) => <DangerButton label="Delete" target={i.Username} onConfirm={() => void action.run(`Identity ${i.Username} deleted`, () => api('DELETE', `${base}/identities${query({ username: i.Username, identityType: i.IdentityType, clientId: i.ClientId })}`)).then(identities.reload)} /> }]
              : []),
          ]}
        />
        {can('mq:AddCustomAuthIdentity') ? (
          <Form
            label="Add an identity"
            class="form inline"
            onSubmit={() => void action.run(`Identity ${username} added`, () => api('POST', `${base}/identities`, { username, identityType, secret, signMode, ...(identityType === 'CLIENT' ? { clientId } : {}) })).then((ok) => ok && (setSecret(''), identities.reload()))}
          >
            <Field label="Username" value={username} onInput={setUsername} required />
            <Select label="Identity type" value={identityType} options={['USER', 'CLIENT']} onChange={setIdentityType} />
            {identityType === 'CLIENT' ? <Field label="Client ID" value={clientId} onInput={setClientId} required /> : null}
            <Field label="Secret" type="password" value={secret} onInput={setSecret} required autoComplete="new-password" />
            <Select label="Sign mode" value={signMode} options={['SIGNED', 'ORIGIN']} onChange={setSignMode} />
            <button type="submit" class="primary" disabled={action.busy}>
              Add identity
            </button>
          </Form>
        ) : null}
      </Section>
      <Section title="Permissions">
        <Table
          caption="Topic permissions of custom identities"
          rows={permissions.data?.items}
          rowKey={(p) => `${p.IdentityType}/${p.Identity}/${p.Topic}`}
          columns={[
            { label: 'Identity', value: (p) => p.Identity },
            { label: 'Type', value: (p) => p.IdentityType },
            { label: 'Topic', value: (p) => p.Topic },
            { label: 'Action', value: (p) => p.PermitAction },
            { label: 'Effect', value: (p) => p.Effect },
            ...(can('mq:DeleteCustomAuthPermission')
              ? [{ label: 'Actions', value: (p: Permission) => <DangerButton label="Delete" target={p.Topic} onConfirm={() => void action.run(`Permission on ${p.Topic} deleted`, () => api('DELETE', `${base}/permissions${query({ identity: p.Identity, identityType: p.IdentityType, topic: p.Topic })}`)).then(permissions.reload)} /> }]
              : []),
          ]}
        />
        {can('mq:AddCustomAuthPermission') ? (
          <Form
            label="Add a permission"
            class="form inline"
            onSubmit={() => void action.run(`Permission on ${pTopic} added`, () => api('POST', `${base}/permissions`, { identity: pIdentity, identityType: pType, topic: pTopic, permitAction: pAction, effect: pEffect })).then((ok) => ok && permissions.reload())}
          >
            <Field label="Identity" value={pIdentity} onInput={setPIdentity} required />
            <Select label="Identity type" value={pType} options={['USER', 'CLIENT']} onChange={setPType} />
            <Field label="Topic filter" value={pTopic} onInput={setPTopic} required placeholder="cmd/#" />
            <Select label="Action" value={pAction} options={['PUB', 'SUB', 'PUB_SUB']} onChange={setPAction} />
            <Select label="Effect" value={pEffect} options={['ALLOW', 'DENY']} onChange={setPEffect} />
            <button type="submit" class="primary" disabled={action.busy}>
              Add permission
            </button>
          </Form>
        ) : null}
      </Section>
    </>
  );
}
