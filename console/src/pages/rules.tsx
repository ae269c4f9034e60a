/**
 * Rules of an instance (docs/rules.md): the list with live counters, the create form
 * (rule-form.tsx), a rule's page with live stats, enable/disable/delete and its dead letters
 * (replay, purge), and the built-in queues. Everything through /api/v1/instances/{id}/rules and
 * /queues; URLs arrive redacted from the API.
 */
import type { JSX } from 'preact';
import { useEffect } from 'preact/hooks';
import { api, query, seg, type Page } from '../api';
import { DangerButton, ErrorBox, Pager, Section, Status, Table, useAction, useCan, useLoad, usePager } from '../components';
import { num, time } from '../format';
import { go, href } from '../router';
import { Payload } from './messages';
import { REFRESH_MS } from './overview';
import { CreateRule } from './rule-form';

export interface RuleView {
  id: string;
  name: string;
  description: string;
  enabled: boolean;
  type: 'outbound' | 'status' | 'inbound';
  topics?: string[];
  groups?: string[];
  target?: string;
  source?: string;
  parentTopic?: string;
  options: { maxAttempts: number; outboxMaxMessages: number; outboxMaxBytes: number; overflow: string };
  hasSecret: boolean;
  createdAt: number;
  updatedAt: number;
  /** Only in the answer of the create that generated it. */
  secret?: string;
}

export interface RuleStats {
  state: string;
  delivered: number;
  failed: number;
  retried: number;
  deadLettered: number;
  dropped: number;
  outboxDepth: number;
  outboxBytes: number;
  outboxOldestAgeMs: number;
  lastError: string | null;
  lastErrorAt: number | null;
  target: { url: string; state: string; lastError?: string } | null;
}

interface DeadLetter {
  id: string;
  at: number;
  attempts: number;
  reason: string;
  item: unknown;
}

interface QueueInfo {
  name: string;
  depth: number;
  inFlight: number;
  oldestAgeMs: number;
}

/** Calls `tick` every REFRESH_MS while the page is shown. */
function useEvery(tick: () => void): void {
  useEffect(() => {
    const timer = window.setInterval(tick, REFRESH_MS);
    return () => window.clearInterval(timer);
  }, []);
}

function stateClass(state: string | undefined): string {
  return state === 'connected' || state === 'running' ? 'badge on' : state === 'disabled' || state === undefined ? 'badge off' : 'badge warn';
}

function ago(ms: number): string {
  if (ms <= 0) return '—';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

/** Where a rule's messages come from and go to, as one line of text. */
function route(r: RuleView): string {
  if (r.type === 'inbound') return `${r.source ?? '?'} → ${r.parentTopic ?? '?'}`;
  const from = r.type === 'outbound' ? (r.topics ?? []).join(', ') : (r.groups ?? []).join(', ');
  return `${from} → ${r.target ?? '?'}`;
}

export function Rules(props: { instanceId: string }): JSX.Element {
  const can = useCan();
  const base = `/instances/${seg(props.instanceId)}`;
  const list = useLoad(async () => {
    const rules = await api<Page<RuleView>>('GET', `${base}/rules`);
    // One stats call per rule (an instance has at most maxRules, 100 by default).
    const stats = await Promise.all(rules.items.map((r) => api<RuleStats>('GET', `${base}/rules/${seg(r.id)}/stats`).catch(() => undefined)));
    return rules.items.map((rule, i) => ({ rule, stats: stats[i] }));
  }, [base]);
  useEvery(list.reload);
  return (
    <>
      <h1>Rules</h1>
      <ErrorBox error={list.error} />
      <Section title="Rules of this instance">
        <Table
          caption="Rules, with their live counters"
          rows={list.data}
          rowKey={(r) => r.rule.id}
          empty="No rules yet."
          columns={[
            { label: 'Name', value: (r) => <a class="nowrap" href={href({ page: 'rules', instanceId: props.instanceId, arg: r.rule.id })}>{r.rule.name}</a> },
            { label: 'ID', value: (r) => <span class="mono nowrap">{r.rule.id}</span> },
            { label: 'Type', value: (r) => <span class="nowrap">{r.rule.type}</span> },
            { label: 'State', value: (r) => <span class={stateClass(r.stats?.state ?? (r.rule.enabled ? undefined : 'disabled'))}>{r.stats?.state ?? (r.rule.enabled ? 'enabled' : 'disabled')}</span> },
            { label: 'From → to', value: (r) => <span class="mono">{route(r.rule)}</span> },
            { label: 'Delivered', value: (r) => num(r.stats?.delivered) },
            { label: 'Failed', value: (r) => num(r.stats?.failed) },
            { label: 'Dead letters', value: (r) => num(r.stats?.deadLettered) },
            { label: 'Backlog', value: (r) => num(r.stats?.outboxDepth) },
          ]}
        />
      </Section>
      {can('mq:CreateRule') ? <CreateRule instanceId={props.instanceId} onCreated={list.reload} /> : null}
      {can('mq:QueryQueue') ? <Queues instanceId={props.instanceId} /> : null}
    </>
  );
}

function Queues(props: { instanceId: string }): JSX.Element {
  const list = useLoad(() => api<Page<QueueInfo>>('GET', `/instances/${seg(props.instanceId)}/queues`), [props.instanceId]);
  useEvery(list.reload);
  return (
    <Section title="Built-in queues">
      <p class="small muted">
        Targets <code>queue://NAME</code> append here; backends receive and acknowledge over <code>POST …/queues/NAME/receive</code> and <code>…/ack</code> (docs/rules.md).
      </p>
      <ErrorBox error={list.error?.startsWith('NotImplemented') === true ? 'The built-in queues do not run in this Ferry.' : list.error} />
      <Table
        caption="Built-in queues"
        rows={list.data?.items}
        rowKey={(q) => q.name}
        empty="No queue has messages yet."
        columns={[
          { label: 'Queue', value: (q) => q.name },
          { label: 'Depth', value: (q) => num(q.depth) },
          { label: 'In flight', value: (q) => num(q.inFlight) },
          { label: 'Oldest message', value: (q) => ago(q.oldestAgeMs) },
        ]}
      />
    </Section>
  );
}

export function RulePage(props: { instanceId: string; ruleId: string }): JSX.Element {
  const can = useCan();
  const base = `/instances/${seg(props.instanceId)}/rules/${seg(props.ruleId)}`;
  const rule = useLoad(() => api<RuleView>('GET', base), [base]);
  const stats = useLoad(() => api<RuleStats>('GET', `${base}/stats`), [base]);
  useEvery(stats.reload);
  const action = useAction();
  const r = rule.data;
  const s = stats.data;
  const toggle = async (enable: boolean): Promise<void> => {
    await action.run(`${r?.name ?? props.ruleId} ${enable ? 'enabled' : 'disabled'}`, () => api('POST', `${base}/${enable ? 'enable' : 'disable'}`));
    rule.reload();
    stats.reload();
  };
  const remove = async (): Promise<void> => {
    if (await action.run(`${r?.name ?? props.ruleId} deleted`, () => api('DELETE', base))) go({ page: 'rules', instanceId: props.instanceId });
  };
  return (
    <>
      <h1>
        Rule <span class="mono">{r?.name ?? props.ruleId}</span>
      </h1>
      <p>
        <a href={href({ page: 'rules', instanceId: props.instanceId })}>← All rules</a>
      </p>
      <ErrorBox error={rule.error} />
      <Status note={action.note} />
      {r === undefined ? null : (
        <Section
          title="Rule"
          actions={
            <div class="actions">
              {can('mq:UpdateRule') ? (
                r.enabled ? (
                  <button type="button" disabled={action.busy} onClick={() => void toggle(false)}>
                    Disable
                  </button>
                ) : (
                  <button type="button" disabled={action.busy} onClick={() => void toggle(true)}>
                    Enable
                  </button>
                )
              ) : null}
              {can('mq:DeleteRule') ? <DangerButton label="Delete rule" onConfirm={() => void remove()} disabled={action.busy} /> : null}
            </div>
          }
        >
          <dl class="facts">
            <dt>ID</dt>
            <dd class="mono">{r.id}</dd>
            <dt>Type</dt>
            <dd>{r.type}</dd>
            <dt>Enabled</dt>
            <dd data-testid="rule-enabled">{r.enabled ? 'yes' : 'no'}</dd>
            {r.type === 'outbound' ? (
              <>
                <dt>Topic filters</dt>
                <dd class="mono">{(r.topics ?? []).join(', ')}</dd>
              </>
            ) : null}
            {r.type === 'status' ? (
              <>
                <dt>Group IDs</dt>
                <dd class="mono">{(r.groups ?? []).join(', ')}</dd>
              </>
            ) : null}
            {r.type === 'inbound' ? (
              <>
                <dt>Source</dt>
                <dd class="mono">{r.source}</dd>
                <dt>Parent topic</dt>
                <dd class="mono">{r.parentTopic}</dd>
              </>
            ) : (
              <>
                <dt>Target</dt>
                <dd class="mono">{r.target}</dd>
              </>
            )}
            <dt>Description</dt>
            <dd>{r.description === '' ? '—' : r.description}</dd>
            <dt>Delivery</dt>
            <dd>
              {num(r.options.maxAttempts)} attempts; outbox up to {num(r.options.outboxMaxMessages)} messages / {num(r.options.outboxMaxBytes)} bytes, then {r.options.overflow}
            </dd>
            {r.hasSecret ? (
              <>
                <dt>Webhook signing</dt>
                <dd>secret set (not shown again)</dd>
              </>
            ) : null}
            <dt>Created</dt>
            <dd>{time(r.createdAt)}</dd>
            <dt>Updated</dt>
            <dd>{time(r.updatedAt)}</dd>
          </dl>
        </Section>
      )}
      <Section title="Live stats">
        <ErrorBox error={stats.error} />
        {s === undefined ? null : (
          <dl class="facts" aria-live="polite">
            <dt>State</dt>
            <dd>
              <span class={stateClass(s.state)} data-testid="rule-state">
                {s.state}
              </span>
            </dd>
            <dt>{r?.type === 'inbound' ? 'Source' : 'Target'}</dt>
            <dd>{s.target === null ? '—' : <span class="mono">{`${s.target.url} (${s.target.state})`}</span>}</dd>
            <dt>Delivered</dt>
            <dd data-testid="rule-delivered">{num(s.delivered)}</dd>
            <dt>Failed</dt>
            <dd>{num(s.failed)}</dd>
            <dt>Retried</dt>
            <dd>{num(s.retried)}</dd>
            <dt>Dead-lettered</dt>
            <dd data-testid="rule-dead-lettered">{num(s.deadLettered)}</dd>
            <dt>Dropped</dt>
            <dd>{num(s.dropped)}</dd>
            <dt>Outbox</dt>
            <dd data-testid="rule-outbox">
              {num(s.outboxDepth)} messages, {num(s.outboxBytes)} bytes; oldest {ago(s.outboxOldestAgeMs)}
            </dd>
            <dt>Last error</dt>
            <dd>{s.lastError === null ? '—' : `${s.lastError} (${time(s.lastErrorAt)})`}</dd>
            {s.target?.lastError === undefined ? null : (
              <>
                <dt>Connector error</dt>
                <dd>{s.target.lastError}</dd>
              </>
            )}
          </dl>
        )}
      </Section>
      {r === undefined ? null : <DeadLetters base={base} rule={r} deadLettered={s?.deadLettered} />}
    </>
  );
}

/** What a dead letter was: a message (topic, client), a status event, or an inbound record. */
function describe(item: unknown): { what: string; payload?: string } {
  const x = item as Record<string, unknown> | null;
  if (x === null || typeof x !== 'object') return { what: String(item) };
  if (x['type'] === 'message') {
    const m = x['message'] as { topic?: string; clientId?: string; qos?: number; payload?: string };
    return { what: `${m.topic ?? '?'} from ${m.clientId ?? '?'} (QoS ${m.qos ?? '?'})`, ...(m.payload === undefined ? {} : { payload: m.payload }) };
  }
  if (x['type'] === 'status') {
    const e = x['event'] as { eventType?: string; clientId?: string };
    return { what: `${e.eventType ?? '?'} of ${e.clientId ?? '?'}: ${JSON.stringify(x['event'])}` };
  }
  if (x['t'] === 'i') {
    return { what: `source record ${String(x['id'] ?? '?')}, properties ${JSON.stringify(x['properties'] ?? {})}`, ...(typeof x['payload'] === 'string' ? { payload: x['payload'] } : {}) };
  }
  return { what: typeof x['raw'] === 'string' ? x['raw'] : JSON.stringify(x), ...(typeof x['payload'] === 'string' ? { payload: x['payload'] } : {}) };
}

function DeadLetters(props: { base: string; rule: RuleView; deadLettered: number | undefined }): JSX.Element {
  const can = useCan();
  const pager = usePager();
  const list = useLoad(() => api<{ items: DeadLetter[]; next: string | null }>('GET', `${props.base}/dead-letters${query({ limit: 50, cursor: pager.cursor })}`), [props.base, pager.cursor, props.deadLettered]);
  const action = useAction();
  const after = (): void => {
    pager.reset();
    list.reload();
  };
  const replay = (ids?: string[]): void =>
    void action.run(ids === undefined ? 'All dead letters put back into the outbox' : `Dead letter ${ids.join(', ')} put back into the outbox`, async () => {
      const answer = await api<{ replayed: number }>('POST', `${props.base}/dead-letters/replay`, ids === undefined ? {} : { ids });
      if (answer.replayed === 0 && props.rule.type === 'inbound') throw new Error('Nothing replayed: an inbound rule has no outbox; its dead letters can only be read and purged.');
    }).then(after);
  const purge = (ids?: string[]): void =>
    void action.run(ids === undefined ? 'All dead letters purged' : `Dead letter ${ids.join(', ')} purged`, () => api('DELETE', `${props.base}/dead-letters${query({ ids: ids?.join(',') })}`)).then(after);
  const rows = list.data?.items;
  const any = rows !== undefined && rows.length > 0;
  const canReplay = can('mq:UpdateRule') && props.rule.type !== 'inbound';
  const canPurge = can('mq:DeleteRule');
  return (
    <Section
      title="Dead letters"
      actions={
        <div class="actions">
          <button type="button" onClick={list.reload}>
            Refresh dead letters
          </button>
          {canReplay && any ? (
            <button type="button" disabled={action.busy} onClick={() => replay()}>
              Replay all
            </button>
          ) : null}
          {canPurge && any ? <DangerButton label="Purge all" onConfirm={() => purge()} disabled={action.busy} /> : null}
        </div>
      }
    >
      <p class="small muted">Messages the target refused or that failed every attempt; replay puts them back into the outbox, oldest first.</p>
      <ErrorBox error={list.error} />
      <Status note={action.note} />
      <Table
        caption="Dead letters, oldest first"
        rows={rows}
        rowKey={(d) => d.id}
        empty="No dead letters."
        columns={[
          { label: 'ID', value: (d) => <span class="nowrap">{d.id}</span> },
          { label: 'When', value: (d) => time(d.at) },
          { label: 'Attempts', value: (d) => num(d.attempts) },
          { label: 'Reason', value: (d) => d.reason },
          { label: 'Message', value: (d) => describe(d.item).what },
          {
            label: 'Payload',
            value: (d) => {
              const payload = describe(d.item).payload;
              return payload === undefined ? '—' : <Payload base64={payload} />;
            },
          },
          ...(canReplay || canPurge
            ? [
                {
                  label: 'Actions',
                  value: (d: DeadLetter) => (
                    <div class="actions">
                      {canReplay ? (
                        <button type="button" aria-label={`Replay dead letter ${d.id}`} disabled={action.busy} onClick={() => replay([d.id])}>
                          Replay
                        </button>
                      ) : null}
                      {canPurge ? <DangerButton label="Purge" target={`dead letter ${d.id}`} onConfirm={() => purge([d.id])} disabled={action.busy} /> : null}
                    </div>
                  ),
                },
              ]
            : []),
        ]}
      />
      <Pager page={pager.page} total={undefined} next={list.data?.next} onNext={() => list.data?.next && pager.next(list.data.next)} onPrev={pager.prev} />
    </Section>
  );
}
