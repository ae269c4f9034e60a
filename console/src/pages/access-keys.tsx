/** AccessKeys and their policies; the secret of a new key is shown once. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, seg, type Page } from '../api';
import { DangerButton, ErrorBox, Field, Form, Section, Select, Status, Table, TextArea, useAction, useCan, useLoad } from '../components';
import { time } from '../format';

interface AccessKey {
  id: string;
  description: string;
  status: 'Active' | 'Inactive';
  policies: Array<string | Record<string, unknown>>;
  bootstrap: boolean;
  createdAt: number;
}

const SYSTEM_POLICIES = ['AliyunMQFullAccess', 'AliyunMQReadOnlyAccess', 'AliyunMQPubOnlyAccess', 'AliyunMQSubOnlyAccess', 'Custom (JSON)'];

function policiesText(policies: AccessKey['policies']): string {
  return policies.map((p) => (typeof p === 'string' ? p : 'custom policy')).join(', ');
}

export function AccessKeys(): JSX.Element {
  const can = useCan();
  const list = useLoad(() => api<Page<AccessKey>>('GET', '/access-keys'), []);
  const action = useAction();
  const [description, setDescription] = useState('');
  const [policy, setPolicy] = useState('AliyunMQReadOnlyAccess');
  const [custom, setCustom] = useState('{"Version":"1","Statement":[{"Effect":"Allow","Action":["mq:List*","mq:Query*"],"Resource":"*"}]}');
  const [created, setCreated] = useState<{ id: string; secret: string } | undefined>(undefined);
  const create = (): void => {
    setCreated(undefined);
    void action.run('AccessKey created', async () => {
      const policies = policy === 'Custom (JSON)' ? [JSON.parse(custom) as unknown] : [policy];
      setCreated(await api<{ id: string; secret: string }>('POST', '/access-keys', { description, policies }));
      list.reload();
    });
  };
  return (
    <>
      <h1>AccessKeys</h1>
      <ErrorBox error={list.error} />
      <Status note={action.note} />
      {created === undefined ? null : (
        <div class="note secret" role="status">
          <p>
            <strong>AccessKey ID:</strong> <span class="secret-box">{created.id}</span>
          </p>
          <p>
            <strong>AccessKey Secret:</strong> <span class="secret-box" data-testid="secret">{created.secret}</span>
          </p>
          <p class="small">Copy the secret now: it is shown only this once.</p>
        </div>
      )}
      <Section title="AccessKeys">
        <Table
          caption="AccessKeys (secrets are never listed)"
          rows={list.data?.items}
          rowKey={(k) => k.id}
          columns={[
            { label: 'AccessKey ID', value: (k) => <span class="mono">{k.id}</span> },
            { label: 'Description', value: (k) => k.description || '—' },
            { label: 'Status', value: (k) => <span class={k.status === 'Active' ? 'badge on' : 'badge off'}>{k.status}</span> },
            { label: 'Policies', value: (k) => policiesText(k.policies) },
            { label: 'Created', value: (k) => time(k.createdAt) },
            ...(can('mq:UpdateAccessKey') || can('mq:DeleteAccessKey')
              ? [
                  {
                    label: 'Actions',
                    value: (k: AccessKey) => (
                      <div class="actions">
                        {can('mq:UpdateAccessKey') ? (
                          <button type="button" aria-label={`${k.status === 'Active' ? 'Disable' : 'Enable'} ${k.id}`} onClick={() => void action.run(`${k.id} ${k.status === 'Active' ? 'disabled' : 'enabled'}`, () => api('PATCH', `/access-keys/${seg(k.id)}`, { status: k.status === 'Active' ? 'Inactive' : 'Active' })).then(list.reload)}>
                            {k.status === 'Active' ? 'Disable' : 'Enable'}
                          </button>
                        ) : null}
                        {can('mq:DeleteAccessKey') && !k.bootstrap ? <DangerButton label="Delete" target={k.id} onConfirm={() => void action.run(`${k.id} deleted`, () => api('DELETE', `/access-keys/${seg(k.id)}`)).then(list.reload)} /> : null}
                      </div>
                    ),
                  },
                ]
              : []),
          ]}
        />
      </Section>
      {can('mq:CreateAccessKey') ? (
        <Section title="Create an AccessKey">
          <Form label="Create an AccessKey" onSubmit={create}>
            <Field label="Description" value={description} onInput={setDescription} placeholder="billing backend" />
            <Select label="Policy" value={policy} options={SYSTEM_POLICIES} onChange={setPolicy} />
            {policy === 'Custom (JSON)' ? <TextArea label="Policy document (JSON)" value={custom} onInput={setCustom} rows={6} /> : null}
            <button type="submit" class="primary" disabled={action.busy}>
              Create AccessKey
            </button>
          </Form>
        </Section>
      ) : null}
    </>
  );
}
