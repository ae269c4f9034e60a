/** Parent topics and Group IDs of an instance. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, query, seg, type Page } from '../api';
import { DangerButton, ErrorBox, Field, Form, Section, Status, Table, useAction, useCan, useLoad } from '../components';
import { time } from '../format';
import { tagsText, type Tag } from './instances';

interface ParentTopic {
  name?: string;
  topic?: string;
  createdAt?: number;
  [key: string]: unknown;
}

function topicName(t: ParentTopic): string {
  return String(t.name ?? t.topic ?? '');
}

export function Topics(props: { instanceId: string }): JSX.Element {
  const can = useCan();
  const base = `/instances/${seg(props.instanceId)}/topics`;
  const list = useLoad(() => api<Page<ParentTopic>>('GET', base), [base]);
  const action = useAction();
  const [name, setName] = useState('');
  return (
    <>
      <h1>Parent topics</h1>
      <ErrorBox error={list.error} />
      <Status note={action.note} />
      <Section title="Parent topics">
        <Table
          caption="Parent topics (the first level of every topic; a strict instance needs them declared)"
          rows={list.data?.items}
          rowKey={topicName}
          columns={[
            { label: 'Parent topic', value: topicName },
            { label: 'Created', value: (t) => time(t.createdAt) },
            ...(can('mq:DeleteMqttTopic') ? [{ label: 'Actions', value: (t: ParentTopic) => <DangerButton label="Delete" target={topicName(t)} onConfirm={() => void action.run(`Parent topic ${topicName(t)} deleted`, () => api('DELETE', `${base}/${seg(topicName(t))}`)).then(list.reload)} /> }] : []),
          ]}
        />
      </Section>
      {can('mq:CreateMqttTopic') ? (
        <Section title="Create a parent topic">
          <Form label="Create a parent topic" class="form inline" onSubmit={() => void action.run(`Parent topic ${name} created`, () => api('POST', base, { name })).then((ok) => ok && (setName(''), list.reload()))}>
            <Field label="Parent topic" value={name} onInput={setName} required placeholder="telemetry" />
            <button type="submit" class="primary" disabled={action.busy}>
              Create parent topic
            </button>
          </Form>
        </Section>
      ) : null}
    </>
  );
}

interface Group {
  groupId: string;
  createdAt: number;
  auto: boolean;
  tags: Tag[];
}

/** "env=prod, team=a" → tags. */
export function parseTags(text: string): Tag[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      const eq = s.indexOf('=');
      return eq < 0 ? { key: s, value: '' } : { key: s.slice(0, eq).trim(), value: s.slice(eq + 1).trim() };
    });
}

export function Groups(props: { instanceId: string }): JSX.Element {
  const can = useCan();
  const base = `/instances/${seg(props.instanceId)}/groups`;
  const [filter, setFilter] = useState('');
  const [applied, setApplied] = useState('');
  const list = useLoad(() => api<Page<Group>>('GET', `${base}${query({ tag: applied })}`), [base, applied]);
  const action = useAction();
  const [groupId, setGroupId] = useState('');
  const [tags, setTags] = useState('');
  return (
    <>
      <h1>Groups</h1>
      <ErrorBox error={list.error} />
      <Status note={action.note} />
      <Form label="Filter groups by tag" class="form inline" onSubmit={() => setApplied(filter.trim())}>
        <Field label="Tag (key=value)" value={filter} onInput={setFilter} placeholder="env=prod" />
        <button type="submit">Filter</button>
      </Form>
      <Section title="Group IDs">
        <Table
          caption={applied === '' ? 'Group IDs' : `Group IDs tagged ${applied}`}
          rows={list.data?.items}
          rowKey={(g) => g.groupId}
          columns={[
            { label: 'Group ID', value: (g) => g.groupId },
            { label: 'Tags', value: (g) => tagsText(g.tags) || '—' },
            { label: 'Made by', value: (g) => (g.auto ? 'first client (relaxed mode)' : 'API') },
            { label: 'Created', value: (g) => time(g.createdAt) },
            ...(can('mq:DeleteMqttGroupId') ? [{ label: 'Actions', value: (g: Group) => <DangerButton label="Delete" target={g.groupId} onConfirm={() => void action.run(`Group ${g.groupId} deleted`, () => api('DELETE', `${base}/${seg(g.groupId)}`)).then(list.reload)} /> }] : []),
          ]}
        />
      </Section>
      {can('mq:CreateMqttGroupId') ? (
        <Section title="Create a Group ID">
          <Form
            label="Create a Group ID"
            class="form inline"
            onSubmit={() => void action.run(`Group ${groupId} created`, () => api('POST', base, { groupId, tags: parseTags(tags) })).then((ok) => ok && (setGroupId(''), setTags(''), list.reload()))}
          >
            <Field label="Group ID" value={groupId} onInput={setGroupId} required placeholder="GID_sensors" />
            <Field label="Tags" value={tags} onInput={setTags} placeholder="env=prod, team=a" />
            <button type="submit" class="primary" disabled={action.busy}>
              Create group
            </button>
          </Form>
        </Section>
      ) : null}
    </>
  );
}

interface BlacklistEntry {
  ClientId: string;
  [key: string]: unknown;
}

export function Blacklist(props: { instanceId: string }): JSX.Element {
  const can = useCan();
  const base = `/instances/${seg(props.instanceId)}/blacklist`;
  const list = useLoad(() => api<Page<BlacklistEntry>>('GET', `${base}${query({ limit: 1000 })}`), [base]);
  const action = useAction();
  const [clientId, setClientId] = useState('');
  return (
    <>
      <h1>Blacklist</h1>
      <ErrorBox error={list.error} />
      <Status note={action.note} />
      <Section title="Client ids refused at connect">
        <Table
          caption="Blacklisted client ids"
          rows={list.data?.items}
          rowKey={(e) => e.ClientId}
          columns={[
            { label: 'Client ID', value: (e) => e.ClientId },
            { label: 'Effect', value: (e) => String(e['Effect'] ?? 'DENY') },
            ...(can('mq:DeleteCustomAuthConnectBlack') ? [{ label: 'Actions', value: (e: BlacklistEntry) => <DangerButton label="Remove" target={e.ClientId} onConfirm={() => void action.run(`${e.ClientId} removed from the blacklist`, () => api('DELETE', `${base}/${seg(e.ClientId)}`)).then(list.reload)} /> }] : []),
          ]}
        />
      </Section>
      {can('mq:AddCustomAuthConnectBlack') ? (
        <Section title="Blacklist a client id">
          <Form label="Blacklist a client id" class="form inline" onSubmit={() => void action.run(`${clientId} blacklisted`, () => api('PUT', `${base}/${seg(clientId)}`)).then((ok) => ok && (setClientId(''), list.reload()))}>
            <Field label="Client ID" value={clientId} onInput={setClientId} required placeholder="GID_a@@@bad-device" />
            <button type="submit" class="primary" disabled={action.busy}>
              Add to blacklist
            </button>
          </Form>
        </Section>
      ) : null}
    </>
  );
}
