/**
 * A typed client for Ferry's native REST API (docs/api.md). Request shapes — which routes and
 * methods exist, their path parameters, query strings and bodies — come from `openapi-types.ts`,
 * generated from the OpenAPI document Ferry serves at /api/v1/openapi.json
 * (test/integration/sdk/openapi-types.test.ts fails when the two disagree). The document has no
 * response schemas, so answers are typed by the server's own types where it has them and by
 * hand (below) where the route builds its JSON itself.
 *
 * Requests are signed with an AccessKey (FERRY-HMAC-SHA256, src/api/rest/signing.ts, the same
 * code the server verifies with) or carry a bearer token.
 */
import { signedHeaders } from '../../api/rest/signing.js';
import type { DeviceCredential } from '../../auth/device-credentials.js';
import type { ClientDetail, ClientView } from '../../management/clients.js';
import type { DeadLetter, RuleStats } from '../../rules/runtime.js';
import type { Rule } from '../../rules/model.js';
import { FerryApiError } from '../errors.js';
import type { paths } from './openapi-types.js';

export type { ClientDetail, ClientView, DeadLetter, DeviceCredential, Rule, RuleStats };

const PREFIX = '/api/v1';
type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** A route of the API without the `/api/v1` prefix, as the OpenAPI document names it: `/instances/{instanceId}/messages`. */
export type Route = keyof paths extends infer K ? (K extends `${typeof PREFIX}${infer R}` ? R : never) : never;
type Full<R extends Route> = `${typeof PREFIX}${R}` & keyof paths;
/** The methods a route has. */
export type MethodOf<R extends Route> = { [M in HttpMethod]: [NonNullable<paths[Full<R>][M]>] extends [never] ? never : M }[HttpMethod];
type Operation<R extends Route, M extends MethodOf<R>> = NonNullable<paths[Full<R>][M]>;
type PathOf<O> = O extends { parameters: { path: infer P } } ? P : never;
type QueryOf<O> = O extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;
type BodyOf<O> = O extends { requestBody: { content: { 'application/json': infer B } } } ? B : never;
type OptionalBodyOf<O> = O extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;

/** What a call of `method route` takes: `params` for `{…}` in the route, `query`, `body` as the document says. */
export type CallOptions<O> = ([PathOf<O>] extends [never] ? { params?: never } : { params: PathOf<O> }) &
  ([QueryOf<O>] extends [never] ? { query?: never } : { query?: QueryOf<O> }) &
  ([BodyOf<O>] extends [never] ? ([OptionalBodyOf<O>] extends [never] ? { body?: never } : { body?: OptionalBodyOf<O> }) : { body: BodyOf<O> });

export type RestAuth = { readonly accessKeyId: string; readonly accessKeySecret: string } | { readonly bearer: string };

export interface RestClientOptions {
  /** The HTTP listener, e.g. `http://127.0.0.1:8080`. */
  readonly endpoint: string;
  readonly auth: RestAuth;
  /** Per-request timeout; default 30 s (a queue long-poll adds its wait on top). */
  readonly timeoutMs?: number;
}

export interface Page<T> {
  readonly items: T[];
  readonly total?: number;
  readonly next: string | null;
}

export interface QueueInfo {
  readonly name: string;
  readonly depth: number;
  readonly inFlight: number;
  readonly oldestAgeMs: number;
}

/** A message received from a built-in queue; `payload` is base64 on the wire. */
export interface ReceivedMessage {
  readonly id: string;
  readonly receipt: string;
  readonly payload: string;
  readonly payloadEncoding: 'base64';
  readonly properties: Record<string, string>;
  readonly deliveries: number;
  readonly enqueuedAt: number;
}

export interface AppliedToken {
  readonly token: string;
  readonly expireTime: number;
}

/** How one request travels: a longer timeout (long polls), a signal to abandon it. */
export interface RequestTransport {
  readonly extraTimeoutMs?: number;
  readonly signal?: AbortSignal;
}

export class RestClient {
  private readonly endpoint: string;
  private readonly timeoutMs: number;

  constructor(private readonly options: RestClientOptions) {
    this.endpoint = options.endpoint.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /**
   * Any route of the API, typed by the OpenAPI document. Resolves with the parsed JSON answer
   * (null for 204); rejects with FerryApiError for an error answer.
   */
  request<R extends Route, M extends MethodOf<R>>(method: M, route: R, options: CallOptions<Operation<R, M>>, transport: RequestTransport = {}): Promise<unknown> {
    const { params, query, body } = options as { params?: Record<string, string>; query?: Record<string, unknown>; body?: unknown };
    const path = route.replace(/\{([^}]+)\}/g, (_, name: string) => {
      const value = params?.[name];
      if (value === undefined) throw new TypeError(`${route}: path parameter ${name} is missing`);
      // `{*}` (retained topics) keeps its '/' separators; every other parameter is one segment.
      return name === '*' ? value.split('/').map(encodeURIComponent).join('/') : encodeURIComponent(value);
    });
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) search.append(k, String(v));
    return this.send(method.toUpperCase(), `${PREFIX}${path}`, search.toString(), body, transport);
  }

  private async send(method: string, path: string, query: string, body: unknown, transport: RequestTransport): Promise<unknown> {
    const text = body === undefined ? '' : JSON.stringify(body);
    const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
    const auth = this.options.auth;
    if ('bearer' in auth) headers['authorization'] = `Bearer ${auth.bearer}`;
    else Object.assign(headers, signedHeaders({ method, path, query, body: text }, { id: auth.accessKeyId, secret: auth.accessKeySecret }));
    const url = `${this.endpoint}${path}${query === '' ? '' : `?${query}`}`;
    const res = await fetch(url, { method, headers, signal: this.signal(transport), ...(body === undefined ? {} : { body: text }) });
    const raw = await res.text();
    let parsed: unknown = null;
    if (raw !== '') {
      try {
        parsed = JSON.parse(raw);
      } catch {
        throw new FerryApiError(res.status, 'InvalidResponse', `${method} ${path} answered ${res.status} with a body that is not JSON: ${raw.slice(0, 200)}`, undefined, undefined);
      }
    }
    if (!res.ok) {
      const answer = (parsed ?? {}) as { error?: { code?: string; message?: string; field?: string }; requestId?: string };
      throw new FerryApiError(res.status, answer.error?.code ?? `HTTP${res.status}`, answer.error?.message ?? res.statusText, answer.error?.field, answer.requestId);
    }
    return parsed;
  }

  private signal(transport: RequestTransport): AbortSignal {
    const timeout = AbortSignal.timeout(this.timeoutMs + (transport.extraTimeoutMs ?? 0));
    return transport.signal === undefined ? timeout : AbortSignal.any([timeout, transport.signal]);
  }

  // ---- Convenience methods for what backends do most (docs/backend-guide.md). ----

  /** Who the credentials act as. */
  async whoami(): Promise<{ id: string }> {
    return (await this.request('get', '/auth/whoami', {})) as { id: string };
  }

  /** Publishes from the backend (QoS 1 unless told otherwise); resolves with the message's trace id. */
  async publish(instanceId: string, body: CallOptions<Operation<'/instances/{instanceId}/messages', 'post'>>['body']): Promise<{ msgId: string }> {
    return (await this.request('post', '/instances/{instanceId}/messages', { params: { instanceId }, body })) as { msgId: string };
  }

  /** Applies for a Token-mode token as the calling AccessKey (the REST form of ApplyToken). */
  async applyToken(instanceId: string, body: CallOptions<Operation<'/instances/{instanceId}/tokens', 'post'>>['body']): Promise<AppliedToken> {
    return (await this.request('post', '/instances/{instanceId}/tokens', { params: { instanceId }, body })) as AppliedToken;
  }

  async revokeToken(instanceId: string, token: string): Promise<void> {
    await this.request('post', '/instances/{instanceId}/tokens/revoke', { params: { instanceId }, body: { token } });
  }

  /** Registers (or returns) the device credential of a client id. */
  async registerDeviceCredential(instanceId: string, clientId: string): Promise<DeviceCredential> {
    return (await this.request('post', '/instances/{instanceId}/device-credentials', { params: { instanceId }, body: { clientId } })) as DeviceCredential;
  }

  /** A client's connection, session and subscriptions; FerryApiError 404 when Ferry knows nothing of it. */
  async client(instanceId: string, clientId: string): Promise<ClientDetail> {
    return (await this.request('get', '/instances/{instanceId}/clients/{clientId}', { params: { instanceId, clientId } })) as ClientDetail;
  }

  async clients(instanceId: string, query: CallOptions<Operation<'/instances/{instanceId}/clients', 'get'>>['query'] = {}): Promise<Page<ClientView>> {
    return (await this.request('get', '/instances/{instanceId}/clients', { params: { instanceId }, query })) as Page<ClientView>;
  }

  async createRule(instanceId: string, body: CallOptions<Operation<'/instances/{instanceId}/rules', 'post'>>['body']): Promise<Rule & { secret?: string }> {
    return (await this.request('post', '/instances/{instanceId}/rules', { params: { instanceId }, body })) as Rule & { secret?: string };
  }

  async ruleStats(instanceId: string, ruleId: string): Promise<RuleStats> {
    return (await this.request('get', '/instances/{instanceId}/rules/{ruleId}/stats', { params: { instanceId, ruleId } })) as RuleStats;
  }

  /** One page of a rule's dead letters (oldest first). */
  async deadLetters(instanceId: string, ruleId: string, query: { limit?: number; cursor?: string } = {}): Promise<Page<DeadLetter>> {
    return (await this.request('get', '/instances/{instanceId}/rules/{ruleId}/dead-letters', { params: { instanceId, ruleId }, query })) as Page<DeadLetter>;
  }

  /** Every dead letter of a rule, page by page. */
  async *allDeadLetters(instanceId: string, ruleId: string, pageSize = 100): AsyncGenerator<DeadLetter> {
    let cursor: string | null = null;
    do {
      const page: Page<DeadLetter> = await this.deadLetters(instanceId, ruleId, { limit: pageSize, ...(cursor === null ? {} : { cursor }) });
      yield* page.items;
      cursor = page.next;
    } while (cursor !== null);
  }

  /** Puts dead letters (the given ids, or all) back into the rule's outbox. */
  async replayDeadLetters(instanceId: string, ruleId: string, ids?: readonly string[]): Promise<number> {
    const answer = (await this.request('post', '/instances/{instanceId}/rules/{ruleId}/dead-letters/replay', { params: { instanceId, ruleId }, body: ids === undefined ? {} : { ids: [...ids] } })) as { replayed: number };
    return answer.replayed;
  }

  /** Deletes dead letters (the given ids, or all). */
  async purgeDeadLetters(instanceId: string, ruleId: string, ids?: readonly string[]): Promise<number> {
    const answer = (await this.request('delete', '/instances/{instanceId}/rules/{ruleId}/dead-letters', { params: { instanceId, ruleId }, query: ids === undefined ? {} : { ids: ids.join(',') } })) as { purged: number };
    return answer.purged;
  }

  async queues(instanceId: string): Promise<QueueInfo[]> {
    return ((await this.request('get', '/instances/{instanceId}/queues', { params: { instanceId } })) as { items: QueueInfo[] }).items;
  }

  /** Appends messages to a built-in queue; resolves with their ids once they are durable. */
  async sendToQueue(instanceId: string, name: string, messages: ReadonlyArray<{ payload: string | Buffer; properties?: Record<string, string> }>): Promise<string[]> {
    const body = {
      messages: messages.map((m) => ({
        ...(typeof m.payload === 'string' ? { payload: m.payload, payloadEncoding: 'utf8' as const } : { payload: m.payload.toString('base64'), payloadEncoding: 'base64' as const }),
        ...(m.properties === undefined ? {} : { properties: m.properties }),
      })),
    };
    return ((await this.request('post', '/instances/{instanceId}/queues/{name}/messages', { params: { instanceId, name }, body })) as { ids: string[] }).ids;
  }

  /** Receives up to `max` messages, long-polling up to `wait` seconds (≤ 20). */
  async receive(instanceId: string, name: string, body: { max?: number; visibilityTimeout?: number; wait?: number } = {}, signal?: AbortSignal): Promise<ReceivedMessage[]> {
    const transport = { extraTimeoutMs: (body.wait ?? 0) * 1000, ...(signal === undefined ? {} : { signal }) };
    return ((await this.request('post', '/instances/{instanceId}/queues/{name}/receive', { params: { instanceId, name }, body }, transport)) as { items: ReceivedMessage[] }).items;
  }

  async ack(instanceId: string, name: string, receipts: readonly string[]): Promise<number> {
    return ((await this.request('post', '/instances/{instanceId}/queues/{name}/ack', { params: { instanceId, name }, body: { receipts: [...receipts] } })) as { acked: number }).acked;
  }

  /** Gives messages back; they are visible again after `delay` seconds. */
  async nack(instanceId: string, name: string, receipts: readonly string[], delay = 0): Promise<number> {
    return ((await this.request('post', '/instances/{instanceId}/queues/{name}/nack', { params: { instanceId, name }, body: { receipts: [...receipts], delay } })) as { nacked: number }).nacked;
  }
}
