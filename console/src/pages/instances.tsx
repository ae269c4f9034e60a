/** Instances the key may list; create and delete them. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, seg, type Page } from '../api';
import { DangerButton, ErrorBox, Field, Form, Section, Select, Status, Table, useAction, useCan, useLoad } from '../components';
import { num, time } from '../format';
import { href } from '../router';

export interface Tag {
  key: string;
  value?: string;
}

export interface Instance {
  instanceId: string;
  name: string;
  mode: 'strict' | 'relaxed';
  limits: Record<string, number> | null;
  createdAt: number;
  updatedAt: number;
  connections: number;
  subscriptions: number;
  retained: number;
  tags: Tag[];
}

export function tagsText(tags: readonly Tag[]): string {
  return tags.map((t) => (t.value === undefined || t.value === '' ? t.key : `${t.key}=${t.value}`)).join(', ');
}

export function Instances(): JSX.Element {
  const can = useCan();
  const list = useLoad(() => api<Page<Instance>>('GET', '/instances'), []);
  const action = useAction();
  const [id, setId] = useState('');
  const [name, setName] = useState('');
  const [mode, setMode] = useState('strict');
  const create = async (): Promise<void> => {
    const ok = await action.run(`Instance ${id || '(generated id)'} created`, () =>
      api('POST', '/instances', { ...(id === '' ? {} : { instanceId: id }), ...(name === '' ? {} : { name }), mode }),
    );
    if (ok) {
      setId('');
      setName('');
      list.reload();
    }
  };
  return (
    <>
      <h1>Instances</h1>
      <ErrorBox error={list.error} />
      <Status note={action.note} />
      <Section title="Instances you may see">
        <Table
          caption="Instances"
          rows={list.data?.items}
          rowKey={(i) => i.instanceId}
          empty="This AccessKey may not list any instance."
          columns={[
            { label: 'Instance ID', value: (i) => <a href={href({ page: 'overview', instanceId: i.instanceId })}>{i.instanceId}</a> },
            { label: 'Name', value: (i) => i.name },
            { label: 'Mode', value: (i) => i.mode },
            { label: 'Connections', value: (i) => num(i.connections) },
            { label: 'Subscriptions', value: (i) => num(i.subscriptions) },
            { label: 'Retained', value: (i) => num(i.retained) },
            { label: 'Tags', value: (i) => tagsText(i.tags) },
            { label: 'Created', value: (i) => time(i.createdAt) },
            ...(can('mq:DeleteMqttInstance')
              ? [{ label: 'Actions', value: (i: Instance) => <DangerButton label="Delete" target={i.instanceId} onConfirm={() => void action.run(`Instance ${i.instanceId} deleted`, () => api('DELETE', `/instances/${seg(i.instanceId)}`)).then(list.reload)} /> }]
              : []),
          ]}
        />
      </Section>
      {can('mq:CreateMqttInstance') ? (
        <Section title="Create an instance">
          <Form label="Create an instance" onSubmit={() => void create()} class="form inline">
            <Field label="Instance ID" value={id} onInput={setId} placeholder="mqtt-prod (blank: generated)" />
            <Field label="Name" value={name} onInput={setName} placeholder="Production" />
            <Select label="Mode" value={mode} options={['strict', 'relaxed']} onChange={setMode} />
            <button type="submit" class="primary" disabled={action.busy}>
              Create instance
            </button>
          </Form>
        </Section>
      ) : null}
    </>
  );
}
