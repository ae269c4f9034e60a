/**
 * The connector URL of a rule's target or source, built from labelled form fields
 * (docs/rules.md, "Connectors"). The browser only assembles the URL: the API checks it and its
 * InvalidParameter message is what the form shows.
 */

export const CONNECTORS = ['queue', 'redis', 'nats', 'amqp', 'webhook', 'url'] as const;
export type Connector = (typeof CONNECTORS)[number];
export type Direction = 'target' | 'source';

export const CONNECTOR_LABELS: Readonly<Record<Connector, string>> = {
  queue: 'Built-in queue (queue://)',
  redis: 'Redis Streams (redis://)',
  nats: 'NATS JetStream (nats://)',
  amqp: 'RabbitMQ (amqp://)',
  webhook: 'Webhook (http:// or https://)',
  url: 'Other: type the URL',
};

/** Webhooks only deliver; they cannot be read from. */
export function connectorsFor(direction: Direction): Connector[] {
  return CONNECTORS.filter((c) => direction === 'target' || c !== 'webhook');
}

export interface ConnectorField {
  readonly key: string;
  readonly label: string;
  readonly placeholder?: string;
  readonly hint?: string;
  readonly secret?: boolean;
}

const SERVER = (port: string): ConnectorField[] => [
  { key: 'host', label: 'Host', placeholder: '127.0.0.1' },
  { key: 'port', label: 'Port', placeholder: port },
];
const LOGIN: ConnectorField[] = [
  { key: 'username', label: 'Username', hint: 'optional' },
  { key: 'password', label: 'Password', hint: 'optional; stored sealed, never shown again', secret: true },
];

/** The labelled fields of a connector, in form order. */
export function connectorFields(connector: Connector, direction: Direction): ConnectorField[] {
  switch (connector) {
    case 'queue':
      return [{ key: 'queue', label: 'Queue name', placeholder: 'jobs', hint: '1–128 of A-Z a-z 0-9 _ . -' }];
    case 'redis':
      return [
        ...SERVER('6379'),
        { key: 'db', label: 'Database', placeholder: '0' },
        ...LOGIN,
        { key: 'stream', label: 'Stream', placeholder: direction === 'target' ? 'sensors' : 'cmds' },
        ...(direction === 'target'
          ? [{ key: 'maxlen', label: 'Max length', hint: 'optional; trims the stream approximately (MAXLEN ~)' }]
          : [
              { key: 'group', label: 'Consumer group', placeholder: 'ferry', hint: 'created at the end of the stream when missing' },
              { key: 'consumer', label: 'Consumer name', hint: 'optional; default ferry' },
            ]),
      ];
    case 'nats':
      return [
        ...SERVER('4222'),
        ...LOGIN,
        ...(direction === 'target'
          ? [{ key: 'subject', label: 'Subject prefix', placeholder: 'ferry.out', hint: 'topic a/b goes to <prefix>.a.b; a stream must capture <prefix>.>' }]
          : [
              { key: 'stream', label: 'Stream', placeholder: 'CMDS' },
              { key: 'consumer', label: 'Durable consumer', placeholder: 'ferry', hint: 'created when missing' },
            ]),
      ];
    case 'amqp':
      return [
        ...SERVER('5672'),
        { key: 'vhost', label: 'Virtual host', hint: 'optional; default /' },
        ...LOGIN,
        ...(direction === 'target'
          ? [
              { key: 'exchange', label: 'Exchange', hint: 'empty = the default exchange' },
              { key: 'routingKey', label: 'Routing key', hint: 'optional; default the MQTT topic' },
            ]
          : [{ key: 'queue', label: 'Queue', placeholder: 'commands' }]),
      ];
    case 'webhook':
      return [
        { key: 'url', label: 'Webhook URL', placeholder: 'https://backend.example.com/hooks/mqtt' },
        { key: 'secret', label: 'Signing secret', hint: 'optional, 16–256 characters; generated and shown once when empty', secret: true },
      ];
    case 'url':
      return [{ key: 'url', label: 'Connector URL', placeholder: direction === 'target' ? 'redis://127.0.0.1:6379/0?stream=sensors' : 'redis://127.0.0.1:6379/0?stream=cmds&group=ferry' }];
  }
}

function login(v: Readonly<Record<string, string>>, mask: boolean): string {
  const user = v['username'] ?? '';
  const pass = v['password'] ?? '';
  if (user === '' && pass === '') return '';
  const shown = mask && pass !== '' ? '***' : encodeURIComponent(pass);
  return pass === '' ? `${encodeURIComponent(user)}@` : `${encodeURIComponent(user)}:${shown}@`;
}

/** `?k=v&…`: empty values left out, except the keys in `keep` (e.g. `exchange=` for the default exchange). */
function params(pairs: Array<[string, string | undefined]>, keep: readonly string[] = []): string {
  const q = new URLSearchParams();
  for (const [k, v] of pairs) if ((v ?? '') !== '' || keep.includes(k)) q.set(k, v ?? '');
  const text = q.toString();
  return text === '' ? '' : `?${text}`;
}

function server(v: Readonly<Record<string, string>>, port: string): string {
  const host = (v['host'] ?? '').trim() || '127.0.0.1';
  return `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${(v['port'] ?? '').trim() || port}`;
}

/** The URL the fields describe; `mask` hides the password (for showing it on the page). */
export function connectorUrl(connector: Connector, direction: Direction, v: Readonly<Record<string, string>>, mask = false): string {
  const t = direction === 'target';
  switch (connector) {
    case 'queue':
      return `queue://${(v['queue'] ?? '').trim()}`;
    case 'redis':
      return `redis://${login(v, mask)}${server(v, '6379')}/${(v['db'] ?? '').trim() || '0'}${params(t ? [['stream', v['stream']], ['maxlen', v['maxlen']]] : [['stream', v['stream']], ['group', v['group']], ['consumer', v['consumer']]])}`;
    case 'nats':
      return `nats://${login(v, mask)}${server(v, '4222')}${params(t ? [['subject', v['subject']]] : [['stream', v['stream']], ['consumer', v['consumer']]])}`;
    case 'amqp':
      return `amqp://${login(v, mask)}${server(v, '5672')}/${encodeURIComponent(v['vhost'] ?? '')}${params(t ? [['exchange', v['exchange']], ['routingKey', v['routingKey']]] : [['queue', v['queue']]], t ? ['exchange'] : [])}`;
    case 'webhook':
    case 'url':
      return (v['url'] ?? '').trim();
  }
}
