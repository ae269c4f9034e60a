/**
 * Overview of one instance: alarms, live charts and settings. The numbers come from
 * GET /instances/{id}/stats, which reads the same series as /metrics; counters become rates
 * here from the difference between two samples.
 */
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, seg } from '../api';
import { LineChart, type Point } from '../chart';
import { ErrorBox, Form, Section, Select, Status, TextArea, message, useAction, useCan, useLoad } from '../components';
import { num, time } from '../format';
import { tagsText, type Instance } from './instances';

type Series = Record<string, number | Record<string, number>>;
interface Sample {
  readonly at: number;
  readonly series: Series;
}

export const REFRESH_MS = 3000;
const WINDOW_MS = 5 * 60 * 1000;

function value(series: Series | undefined, key: string): number {
  const v = series?.[key];
  if (v === undefined) return 0;
  if (typeof v === 'number') return v;
  return Object.values(v).reduce((a, b) => a + b, 0);
}

function part(series: Series | undefined, key: string, label: string): number {
  const v = series?.[key];
  return typeof v === 'object' ? (v[label] ?? 0) : 0;
}

function gauge(samples: readonly Sample[], key: string): Point[] {
  return samples.map((s) => ({ at: s.at, value: value(s.series, key) }));
}

function rate(samples: readonly Sample[], key: string): Point[] {
  const out: Point[] = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1]!;
    const b = samples[i]!;
    const seconds = Math.max(0.001, (b.at - a.at) / 1000);
    // A restart resets counters: never chart a negative rate.
    out.push({ at: b.at, value: Math.max(0, value(b.series, key) - value(a.series, key)) / seconds });
  }
  return out;
}

interface Alarm {
  readonly text: string;
}

/** Alarms from what changed over the window (counters) and current levels. */
function alarms(samples: readonly Sample[]): Alarm[] {
  const first = samples[0]?.series;
  const last = samples[samples.length - 1]?.series;
  if (first === undefined || last === undefined) return [];
  const out: Alarm[] = [];
  const quotas = (last['quota_refusals_total'] ?? {}) as Record<string, number>;
  for (const quota of Object.keys(quotas)) {
    const d = part(last, 'quota_refusals_total', quota) - part(first, 'quota_refusals_total', quota);
    if (d > 0) out.push({ text: `Quota refusals (${quota.replace(/_/g, ' ')}): ${num(d)} in the last minutes` });
  }
  const full = part(last, 'messages_dropped_total', 'queue_full') - part(first, 'messages_dropped_total', 'queue_full');
  if (full > 0) out.push({ text: `Offline queues full: ${num(full)} messages dropped in the last minutes` });
  const expired = part(last, 'messages_dropped_total', 'expired') - part(first, 'messages_dropped_total', 'expired');
  if (expired > 0) out.push({ text: `Messages expired before delivery: ${num(expired)}` });
  const backlog = value(last, 'rule_backlog');
  if (backlog > 0) out.push({ text: `Rule outbox backlog: ${num(backlog)} messages waiting` });
  if (value(last, 'store_degraded') > 0) out.push({ text: 'Store degraded: acknowledgements are held back' });
  return out;
}

function useSamples(instanceId: string): { samples: Sample[]; error: string | undefined } {
  const [samples, setSamples] = useState<Sample[]>([]);
  const [error, setError] = useState<string | undefined>(undefined);
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => {
    let live = true;
    setSamples([]);
    const poll = async (): Promise<void> => {
      try {
        const s = await api<{ at: number; series: Series }>('GET', `/instances/${seg(instanceId)}/stats`);
        if (!live) return;
        setError(undefined);
        setSamples((prev) => [...prev.filter((p) => p.at > s.at - WINDOW_MS), { at: s.at, series: s.series }]);
      } catch (err) {
        if (live) setError(message(err));
      }
      if (live) timer.current = window.setTimeout(() => void poll(), REFRESH_MS);
    };
    void poll();
    return () => {
      live = false;
      window.clearTimeout(timer.current);
    };
  }, [instanceId]);
  return { samples, error };
}

export function Overview(props: { instanceId: string }): JSX.Element {
  const { samples, error } = useSamples(props.instanceId);
  const info = useLoad(() => api<Instance>('GET', `/instances/${seg(props.instanceId)}`), [props.instanceId]);
  const active = alarms(samples);
  return (
    <>
      <h1>
        Overview <span class="muted">{props.instanceId}</span>
      </h1>
      <section aria-label="Alarms" class="alarms">
        {active.length === 0 ? (
          <p class="note ok">No alarms.</p>
        ) : (
          active.map((a) => (
            <p class="note alarm" role="alert" key={a.text}>
              {a.text}
            </p>
          ))
        )}
      </section>
      <ErrorBox error={error ?? info.error} />
      <div class="charts">
        <LineChart title="Connections" points={gauge(samples, 'connections')} windowMs={WINDOW_MS} />
        <LineChart title="Subscriptions" points={gauge(samples, 'subscriptions')} windowMs={WINDOW_MS} />
        <LineChart title="Messages in" unit="/s" points={rate(samples, 'messages_received_total')} windowMs={WINDOW_MS} />
        <LineChart title="Messages out" unit="/s" points={rate(samples, 'messages_sent_total')} windowMs={WINDOW_MS} />
        <LineChart title="Drops" unit="/s" points={rate(samples, 'messages_dropped_total')} windowMs={WINDOW_MS} />
        <LineChart title="Offline queue" points={gauge(samples, 'queued_messages')} windowMs={WINDOW_MS} />
        <LineChart title="In flight" points={gauge(samples, 'inflight_messages')} windowMs={WINDOW_MS} />
        <LineChart title="Rule backlog" points={gauge(samples, 'rule_backlog')} windowMs={WINDOW_MS} />
      </div>
      <p class="muted">
        Updated every {REFRESH_MS / 1000} s; the last {WINDOW_MS / 60000} minutes are kept in this page only.
      </p>
      {info.data === undefined ? null : <Settings instance={info.data} onSaved={info.reload} />}
    </>
  );
}

function Settings(props: { instance: Instance; onSaved: () => void }): JSX.Element {
  const can = useCan();
  const i = props.instance;
  const [mode, setMode] = useState<string>(i.mode);
  const [limits, setLimits] = useState(JSON.stringify(i.limits ?? {}, null, 2));
  const action = useAction();
  const save = (): void => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(limits);
    } catch {
      void action.run('', () => Promise.reject(new Error('Limits must be a JSON object of numbers')));
      return;
    }
    void action.run('Instance saved', () => api('PATCH', `/instances/${seg(i.instanceId)}`, { mode, limits: parsed })).then((ok) => ok && props.onSaved());
  };
  return (
    <Section title="Instance">
      <dl class="facts">
        <dt>Instance ID</dt>
        <dd>{i.instanceId}</dd>
        <dt>Name</dt>
        <dd>{i.name}</dd>
        <dt>Mode</dt>
        <dd>{i.mode}</dd>
        <dt>Tags</dt>
        <dd>{tagsText(i.tags) || '—'}</dd>
        <dt>Created</dt>
        <dd>{time(i.createdAt)}</dd>
      </dl>
      {can('mq:UpdateMqttInstance') ? (
        <Form label="Instance settings" onSubmit={save}>
          <Select label="Mode" value={mode} options={['strict', 'relaxed']} onChange={setMode} />
          <TextArea label="Limits (JSON, 0 = unlimited)" value={limits} onInput={setLimits} rows={8} />
          <button type="submit" class="primary" disabled={action.busy}>
            Save instance
          </button>
          <Status note={action.note} />
        </Form>
      ) : null}
    </Section>
  );
}
