/** Retained messages and sending a test message. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, query, seg, type Page } from '../api';
import { Check, DangerButton, ErrorBox, Field, Form, Pager, Section, Select, Status, Table, TextArea, useAction, useCan, useLoad, usePager } from '../components';
import { payloadText, time } from '../format';
import { href } from '../router';

interface Retained {
  topic: string;
  qos: number;
  payload: string;
  expiresAt: number | null;
  properties?: Record<string, unknown>;
}

/** A payload cell: text, or hex with a marker when it is binary. */
export function Payload(props: { base64: string }): JSX.Element {
  const shown = payloadText(props.base64);
  return (
    <pre class="payload">
      {shown.encoding === 'hex' ? <span class="muted">[hex] </span> : null}
      {shown.text}
    </pre>
  );
}

export function RetainedPage(props: { instanceId: string }): JSX.Element {
  const can = useCan();
  const base = `/instances/${seg(props.instanceId)}/retained`;
  const [filter, setFilter] = useState('#');
  const [applied, setApplied] = useState('#');
  const pager = usePager();
  const list = useLoad(() => api<Page<Retained>>('GET', `${base}${query({ filter: applied, limit: 50, cursor: pager.cursor })}`), [base, applied, pager.cursor]);
  const action = useAction();
  return (
    <>
      <h1>Retained messages</h1>
      <Form
        label="Filter retained messages"
        class="form inline"
        onSubmit={() => {
          pager.reset();
          setApplied(filter.trim() || '#');
        }}
      >
        <Field label="Topic filter" value={filter} onInput={setFilter} placeholder="sensors/#" />
        <button type="submit">Show</button>
      </Form>
      <ErrorBox error={list.error} />
      <Status note={action.note} />
      <Table
        caption={`Retained messages matching ${applied}`}
        rows={list.data?.items}
        rowKey={(m) => m.topic}
        empty="No retained message matches."
        columns={[
          { label: 'Topic', value: (m) => m.topic },
          { label: 'QoS', value: (m) => String(m.qos) },
          { label: 'Payload', value: (m) => <Payload base64={m.payload} /> },
          { label: 'Expires', value: (m) => time(m.expiresAt) },
          ...(can('mq:DeleteRetained') ? [{ label: 'Actions', value: (m: Retained) => <DangerButton label="Delete" target={m.topic} onConfirm={() => void action.run(`Retained message of ${m.topic} deleted`, () => api('DELETE', `${base}/${m.topic.split('/').map(seg).join('/')}`)).then(list.reload)} /> }] : []),
        ]}
      />
      <Pager page={pager.page} total={list.data?.total} next={list.data?.next} onNext={() => list.data?.next && pager.next(list.data.next)} onPrev={pager.prev} />
    </>
  );
}

/** "key=value" lines → [[key, value]] (MQTT 5 user properties may repeat a key). */
function parseUserProperties(text: string): Array<[string, string]> {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((l) => {
      const eq = l.indexOf('=');
      return eq < 0 ? [l, ''] : [l.slice(0, eq), l.slice(eq + 1)];
    });
}

export function Send(props: { instanceId: string }): JSX.Element {
  const can = useCan();
  const [topic, setTopic] = useState('');
  const [payload, setPayload] = useState('');
  const [encoding, setEncoding] = useState('utf8');
  const [qos, setQos] = useState('1');
  const [retain, setRetain] = useState(false);
  const [userProps, setUserProps] = useState('');
  const [msgId, setMsgId] = useState<string | undefined>(undefined);
  const action = useAction();
  const send = (): void => {
    setMsgId(undefined);
    const user = parseUserProperties(userProps);
    void action.run(`Sent to ${topic}`, async () => {
      const answer = await api<{ msgId: string }>('POST', `/instances/${seg(props.instanceId)}/messages`, {
        topic,
        payload,
        payloadEncoding: encoding,
        qos: Number(qos),
        retain,
        ...(user.length === 0 ? {} : { properties: { userProperties: user } }),
      });
      setMsgId(answer.msgId);
    });
  };
  if (!can('mq:PUB')) {
    return (
      <>
        <h1>Send a test message</h1>
        <p class="note error">This AccessKey may not publish on this instance.</p>
      </>
    );
  }
  return (
    <>
      <h1>Send a test message</h1>
      <Section title="Message">
        <Form label="Send a test message" onSubmit={send}>
          <Field label="Topic" value={topic} onInput={setTopic} required placeholder="cmd/device-1" />
          <TextArea label="Payload" value={payload} onInput={setPayload} />
          <div class="form inline">
            <Select label="Payload encoding" value={encoding} options={['utf8', 'base64']} onChange={setEncoding} />
            <Select label="QoS" value={qos} options={['0', '1', '2']} onChange={setQos} />
            <Check label="Retain" checked={retain} onChange={setRetain} />
          </div>
          <TextArea label="User properties (one key=value a line)" value={userProps} onInput={setUserProps} rows={3} />
          <button type="submit" class="primary" disabled={action.busy}>
            Send message
          </button>
        </Form>
        <Status note={action.note} />
        {msgId === undefined ? null : (
          <p>
            MsgId <span class="mono" data-testid="msg-id">{msgId}</span> —{' '}
            <a href={href({ page: 'traces', instanceId: props.instanceId, arg: `msg:${msgId}` })}>trace it</a>
          </p>
        )}
      </Section>
    </>
  );
}
