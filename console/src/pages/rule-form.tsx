/**
 * Creating a rule: the fields follow the type (outbound: topic filters + target; status: Group
 * IDs + target; inbound: source + parent topic) and the target or source is built from labelled
 * fields of the connector picked. The API validates everything; its error is shown as it comes.
 */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, seg } from '../api';
import { Check, Field, Form, Section, Select, Status, useAction } from '../components';
import { CONNECTOR_LABELS, connectorFields, connectorsFor, connectorUrl, type Connector, type Direction } from '../connector-url';
import { href } from '../router';
import type { RuleView } from './rules';

const TYPES = ['outbound', 'status', 'inbound'] as const;
const TYPE_LABELS: Record<string, string> = {
  outbound: 'outbound: MQTT messages → a target',
  status: 'status: client connect/disconnect events → a target',
  inbound: 'inbound: a source → MQTT messages',
};

/** "a, b" or one a line → ["a", "b"]. */
function listOf(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export function CreateRule(props: { instanceId: string; onCreated: () => void }): JSX.Element {
  const [name, setName] = useState('');
  const [type, setType] = useState<string>('outbound');
  const [description, setDescription] = useState('');
  const [topics, setTopics] = useState('');
  const [groups, setGroups] = useState('');
  const [parentTopic, setParentTopic] = useState('');
  const [connector, setConnector] = useState<Connector>('queue');
  const [fields, setFields] = useState<Record<string, string>>({});
  const [maxAttempts, setMaxAttempts] = useState('');
  const [overflow, setOverflow] = useState('drop-oldest');
  const [enabled, setEnabled] = useState(true);
  const [created, setCreated] = useState<RuleView | undefined>(undefined);
  const action = useAction();

  const direction: Direction = type === 'inbound' ? 'source' : 'target';
  const choices = connectorsFor(direction);
  const chosen = choices.includes(connector) ? connector : 'queue';
  const url = connectorUrl(chosen, direction, fields);
  const set = (key: string) => (value: string) => setFields((f) => ({ ...f, [key]: value }));

  const create = async (): Promise<void> => {
    setCreated(undefined);
    const secret = chosen === 'webhook' ? (fields['secret'] ?? '') : '';
    const body = {
      name: name.trim(),
      type,
      ...(description.trim() === '' ? {} : { description: description.trim() }),
      enabled,
      ...(type === 'outbound' ? { topics: listOf(topics) } : {}),
      ...(type === 'status' ? { groups: listOf(groups) } : {}),
      ...(type === 'inbound' ? { source: url, parentTopic: parentTopic.trim() } : { target: url }),
      ...(secret === '' ? {} : { secret }),
      options: { overflow, ...(maxAttempts.trim() === '' ? {} : { maxAttempts: Number(maxAttempts) }) },
    };
    const ok = await action.run(`Rule ${body.name} created`, async () => {
      setCreated(await api<RuleView>('POST', `/instances/${seg(props.instanceId)}/rules`, body));
    });
    if (ok) {
      setName('');
      setDescription('');
      setFields((f) => ({ ...f, password: '', secret: '' }));
      props.onCreated();
    }
  };

  return (
    <Section title="Create a rule">
      <Form label="Create a rule" onSubmit={() => void create()}>
        <div class="form inline">
          <Field label="Rule name" value={name} onInput={setName} required placeholder="to-redis" hint="1–64 of A-Z a-z 0-9 _ . -" />
          <Select label="Rule type" value={type} options={TYPES} labels={TYPE_LABELS} onChange={setType} />
        </div>
        <Field label="Description" value={description} onInput={setDescription} hint="optional" />
        {type === 'outbound' ? <Field label="Topic filters" value={topics} onInput={setTopics} placeholder="sensors/#, alarms/+" hint="MQTT topic filters, comma-separated; + and # allowed" /> : null}
        {type === 'status' ? <Field label="Group IDs" value={groups} onInput={setGroups} placeholder="GID_car" hint="comma-separated; connect, disconnect and tcpclean events of their clients" /> : null}
        {type === 'inbound' ? <Field label="Parent topic" value={parentTopic} onInput={setParentTopic} placeholder="cmd" hint="messages are published under it (their mqttSecondTopic appended)" /> : null}
        <fieldset class="connector">
          <legend>{direction === 'target' ? 'Target' : 'Source'}</legend>
          <Select label="Connector" value={chosen} options={choices} labels={CONNECTOR_LABELS} onChange={(v) => setConnector(v as Connector)} />
          <div class="form inline">
            {connectorFields(chosen, direction).map((f) => (
              <Field key={`${chosen}-${direction}-${f.key}`} label={f.label} value={fields[f.key] ?? ''} onInput={set(f.key)} type={f.secret === true ? 'password' : 'text'} autoComplete={f.secret === true ? 'new-password' : 'off'} {...(f.placeholder === undefined ? {} : { placeholder: f.placeholder })} {...(f.hint === undefined ? {} : { hint: f.hint })} />
            ))}
          </div>
          {chosen === 'url' || chosen === 'webhook' ? null : (
            <p class="small">
              URL: <code data-testid="connector-url">{connectorUrl(chosen, direction, fields, true)}</code>
            </p>
          )}
        </fieldset>
        <div class="form inline">
          <Field label="Max attempts" value={maxAttempts} onInput={setMaxAttempts} placeholder="10" hint="before a message is dead-lettered" />
          <Select label="When the outbox is full" value={overflow} options={['drop-oldest', 'refuse']} labels={{ 'drop-oldest': 'drop the oldest message', refuse: 'refuse the new message' }} onChange={setOverflow} />
          <Check label="Enabled" checked={enabled} onChange={setEnabled} />
        </div>
        <button type="submit" class="primary" disabled={action.busy}>
          Create rule
        </button>
      </Form>
      <Status note={action.note} />
      {created === undefined ? null : (
        <div class="note secret">
          <p>
            <a href={href({ page: 'rules', instanceId: props.instanceId, arg: created.id })}>Open {created.name}</a> ({created.id})
          </p>
          {created.secret === undefined ? null : (
            <p>
              Webhook signing secret, shown this once: <span class="secret-box" data-testid="secret">{created.secret}</span>
            </p>
          )}
        </div>
      )}
    </Section>
  );
}
