/** Traces: a device's connect/close events and messages by client id and time, a message by MsgId. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, query, seg } from '../api';
import { ErrorBox, Field, Form, Section, Select, Table, message } from '../components';

interface TraceRecord {
  Time: string;
  MsgId?: string;
  ClientId?: string;
  ChannelId?: string;
  Action: string;
  ActionCode: string;
  ActionInfo: string;
}

/** datetime-local value (local time) of a moment. */
function localInput(ms: number): string {
  const d = new Date(ms - new Date().getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

const COLUMNS = (withMsg: boolean, withClient: boolean) => [
  { label: 'Time', value: (r: TraceRecord) => r.Time },
  ...(withMsg ? [{ label: 'MsgId', value: (r: TraceRecord) => <span class="mono">{r.MsgId ?? '—'}</span> }] : []),
  ...(withClient ? [{ label: 'Client ID', value: (r: TraceRecord) => r.ClientId ?? '—' }] : []),
  { label: 'Action', value: (r: TraceRecord) => r.Action },
  { label: 'Code', value: (r: TraceRecord) => r.ActionCode },
  { label: 'Info', value: (r: TraceRecord) => r.ActionInfo },
];

export function Traces(props: { instanceId: string; arg?: string }): JSX.Element {
  const base = `/instances/${seg(props.instanceId)}/traces`;
  const initialMsg = props.arg?.startsWith('msg:') === true ? props.arg.slice(4) : '';
  const [clientId, setClientId] = useState('');
  const [kind, setKind] = useState('Connections');
  const [from, setFrom] = useState(localInput(Date.now() - 3600_000));
  const [to, setTo] = useState(localInput(Date.now() + 60_000));
  const [device, setDevice] = useState<{ items: TraceRecord[]; total: number } | undefined>(undefined);
  const [msgId, setMsgId] = useState(initialMsg);
  const [msg, setMsg] = useState<{ published: TraceRecord[]; deliveries: { items: TraceRecord[]; total: number } } | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const range = (): { beginTime: number; endTime: number } => ({ beginTime: new Date(from).getTime(), endTime: new Date(to).getTime() });
  const searchDevice = async (): Promise<void> => {
    setError(undefined);
    try {
      const path = kind === 'Connections' ? `${base}/devices/${seg(clientId)}` : `${base}/clients/${seg(clientId)}/messages`;
      setDevice(await api('GET', `${path}${query({ ...range(), pageSize: 100, reverse: true })}`));
    } catch (err) {
      setError(message(err));
    }
  };
  const searchMsg = async (): Promise<void> => {
    setError(undefined);
    try {
      // A MsgId carries no time the page can read; look back over the chosen range.
      setMsg(await api('GET', `${base}/messages/${seg(msgId.trim())}${query({ ...range(), pageSize: 100 })}`));
    } catch (err) {
      setError(message(err));
    }
  };
  return (
    <>
      <h1>Traces</h1>
      <ErrorBox error={error} />
      <div class="form inline">
        <Field label="From" type="datetime-local" value={from} onInput={setFrom} />
        <Field label="To" type="datetime-local" value={to} onInput={setTo} />
      </div>
      <Section title="Device trace">
        <Form label="Device trace" class="form inline" onSubmit={() => void searchDevice()}>
          <Field label="Client ID" value={clientId} onInput={setClientId} required />
          <Select label="Events" value={kind} options={['Connections', 'Messages']} onChange={setKind} />
          <button type="submit" class="primary">
            Show device trace
          </button>
        </Form>
        {device === undefined ? null : <Table caption={`${kind === 'Connections' ? 'Connection events' : 'Messages'} of ${clientId} (${device.total}, newest first)`} rows={device.items} columns={COLUMNS(kind !== 'Connections', false)} empty="No events in this range." />}
      </Section>
      <Section title="Message trace">
        <Form label="Message trace" class="form inline" onSubmit={() => void searchMsg()}>
          <Field label="MsgId" value={msgId} onInput={setMsgId} required placeholder="32 hex digits" />
          <button type="submit" class="primary">
            Show message trace
          </button>
        </Form>
        {msg === undefined ? null : (
          <>
            <Table caption="How it came in" rows={msg.published} columns={COLUMNS(false, true)} empty="Not found in this range." />
            <Table caption={`Deliveries (${msg.deliveries.total})`} rows={msg.deliveries.items} columns={COLUMNS(false, true)} empty="No deliveries." />
          </>
        )}
      </Section>
    </>
  );
}
