/** Clients: search by id or prefix, one page at a time; a client's page with kick / clear session. */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, query, seg, type Page } from '../api';
import { Check, DangerButton, ErrorBox, Field, Form, Pager, Section, Select, Status, Table, useAction, useCan, useLoad, usePager } from '../components';
import { num } from '../format';
import { go, href } from '../router';

interface ClientView {
  clientId: string;
  connected: boolean;
  username?: string;
  protocolVersion?: number;
  transport?: string;
  listener?: string;
  remoteAddress?: string;
  remotePort?: number;
  subscriptions: number;
  queued: number;
  inflight: number;
  /** Queued messages dropped for this client (queue caps, expiry); each is a drop_offline trace event. */
  droppedMessages?: number;
  sessionExpiryInterval: number;
  keepalive?: number;
}

interface SubscriptionView {
  clientId: string;
  topicFilter: string;
  qos: number;
  [key: string]: unknown;
}

const PAGE_SIZE = 50;

export function Clients(props: { instanceId: string }): JSX.Element {
  const [prefix, setPrefix] = useState('');
  const [applied, setApplied] = useState('');
  const [state, setState] = useState('');
  const pager = usePager();
  const list = useLoad(
    () =>
      api<Page<ClientView>>(
        'GET',
        `/instances/${seg(props.instanceId)}/clients${query({ prefix: applied, connected: state === 'online' ? true : state === 'offline' ? false : undefined, limit: PAGE_SIZE, cursor: pager.cursor })}`,
      ),
    [props.instanceId, applied, state, pager.cursor],
  );
  const search = (): void => {
    pager.reset();
    setApplied(prefix);
  };
  return (
    <>
      <h1>Clients</h1>
      <Form label="Search clients" onSubmit={search} class="form inline">
        <Field label="Client ID or prefix" value={prefix} onInput={setPrefix} placeholder="GID_sensor@@@" />
        <Select
          label="State"
          value={state}
          options={['', 'online', 'offline']}
          onChange={(v) => {
            pager.reset();
            setState(v);
          }}
        />
        <button type="submit" class="primary">
          Search
        </button>
        {applied === '' ? null : (
          <button type="button" onClick={() => go({ page: 'clients', instanceId: props.instanceId, arg: applied })}>
            Open {applied}
          </button>
        )}
      </Form>
      <ErrorBox error={list.error} />
      <Table
        caption={applied === '' ? 'Clients and waiting sessions' : `Clients whose id starts with “${applied}”`}
        rows={list.data?.items}
        rowKey={(c) => c.clientId}
        empty="No client matches."
        columns={[
          { label: 'Client ID', value: (c) => <a href={href({ page: 'clients', instanceId: props.instanceId, arg: c.clientId })}>{c.clientId}</a> },
          { label: 'State', value: (c) => <span class={c.connected ? 'badge on' : 'badge off'}>{c.connected ? 'online' : 'offline'}</span> },
          { label: 'Address', value: (c) => (c.remoteAddress === undefined ? '—' : `${c.remoteAddress}:${c.remotePort ?? ''}`) },
          { label: 'Protocol', value: (c) => (c.protocolVersion === undefined ? '—' : `MQTT ${c.protocolVersion === 5 ? '5' : c.protocolVersion === 4 ? '3.1.1' : '3.1'}`) },
          { label: 'Subscriptions', value: (c) => num(c.subscriptions) },
          { label: 'Queued', value: (c) => num(c.queued) },
          { label: 'In flight', value: (c) => num(c.inflight) },
        ]}
      />
      <Pager page={pager.page} total={list.data?.total} next={list.data?.next} onNext={() => list.data?.next && pager.next(list.data.next)} onPrev={pager.prev} />
    </>
  );
}

export function ClientPage(props: { instanceId: string; clientId: string }): JSX.Element {
  const can = useCan();
  const base = `/instances/${seg(props.instanceId)}/clients/${seg(props.clientId)}`;
  const detail = useLoad(() => api<ClientView & { subscriptionList: SubscriptionView[] }>('GET', base), [base]);
  const action = useAction();
  const [clean, setClean] = useState(false);
  const c = detail.data;
  const kick = async (): Promise<void> => {
    const ok = await action.run(`${props.clientId} was disconnected`, () => api('POST', `${base}/kick`));
    if (ok && clean) await action.run(`${props.clientId} was disconnected and its session cleared`, () => api('DELETE', `${base}/session`));
    // The close is asynchronous: look again a moment later.
    window.setTimeout(detail.reload, 300);
  };
  return (
    <>
      <h1>
        Client <span class="mono">{props.clientId}</span>
      </h1>
      <p>
        <a href={href({ page: 'clients', instanceId: props.instanceId })}>← All clients</a>
      </p>
      <ErrorBox error={detail.error?.startsWith('ClientNotFound') === true ? `${props.clientId} has no connection and no session any more.` : detail.error} />
      <Status note={action.note} />
      {c === undefined ? null : (
        <>
          <Section
            title="Connection and session"
            actions={
              <div class="actions">
                <button type="button" onClick={detail.reload}>
                  Refresh
                </button>
                {can('mq:CloseConnection') && c.connected ? (
                  <>
                    {can('mq:DeleteSession') ? <Check label="Also clear its session" checked={clean} onChange={setClean} /> : null}
                    <DangerButton label="Kick" onConfirm={() => void kick()} disabled={action.busy} />
                  </>
                ) : null}
                {can('mq:DeleteSession') && !c.connected ? (
                  <DangerButton label="Clear session" onConfirm={() => void action.run(`Session of ${props.clientId} cleared`, () => api('DELETE', `${base}/session`)).then(detail.reload)} disabled={action.busy} />
                ) : null}
              </div>
            }
          >
            <dl class="facts">
              <dt>State</dt>
              <dd data-testid="client-state">{c.connected ? 'online' : 'offline'}</dd>
              <dt>Username</dt>
              <dd>{c.username ?? '—'}</dd>
              <dt>Address</dt>
              <dd>{c.remoteAddress === undefined ? '—' : `${c.remoteAddress}:${c.remotePort ?? ''}`}</dd>
              <dt>Protocol</dt>
              <dd>{c.protocolVersion === undefined ? '—' : `MQTT ${c.protocolVersion === 5 ? '5' : c.protocolVersion === 4 ? '3.1.1' : '3.1'} over ${c.transport ?? '?'} (${c.listener ?? '?'})`}</dd>
              <dt>Keepalive</dt>
              <dd>{c.keepalive === undefined ? '—' : `${c.keepalive} s`}</dd>
              <dt>Session expiry</dt>
              <dd>{c.sessionExpiryInterval} s</dd>
              <dt>Queued</dt>
              <dd>{num(c.queued)}</dd>
              <dt>In flight</dt>
              <dd>{num(c.inflight)}</dd>
              <dt>Dropped</dt>
              <dd data-testid="client-dropped">{num(c.droppedMessages ?? 0)}</dd>
            </dl>
          </Section>
          <Section title="Subscriptions">
            <Table
              caption={`Subscriptions of ${props.clientId}`}
              rows={c.subscriptionList}
              rowKey={(s) => s.topicFilter}
              empty="No subscriptions."
              columns={[
                { label: 'Topic filter', value: (s) => s.topicFilter },
                { label: 'QoS', value: (s) => String(s.qos) },
              ]}
            />
          </Section>
        </>
      )}
    </>
  );
}
