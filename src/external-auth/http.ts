/**
 * HTTP authentication and authorization callbacks of one instance. Ferry POSTs JSON to the
 * operator's service and reads the answer:
 *
 *   authUrl       {clientId, username, password, instanceId, remoteAddress, remotePort,
 *                  listener, transport, protocolVersion}
 *   authorizeUrl  {clientId, username, instanceId, action: "publish"|"subscribe", topic}
 *
 *   200 {"result": "allow"|"deny"|"ignore", "acl"?: {pub, sub, all}}   204 = allow
 *   4xx = deny       5xx, timeout, network error, unreadable body = failure → failurePolicy
 *
 * Answers (allow and deny, not failures) are cached for cacheSeconds, keyed by a SHA-256 of what
 * was asked (the password is never kept in clear). Neither passwords nor the configured headers
 * are logged; URLs are logged without credentials or query.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { parseAcl, type TopicAcl } from './acl.js';
import type { HttpSettings } from './config.js';
import type { ConnectFacts, ProviderOutcome } from './jwt.js';

/** Cached answers per instance at most (oldest dropped first). */
const CACHE_MAX = 10_000;

export interface PeerFacts {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly listener: string;
  readonly transport: string;
  readonly protocolVersion: number;
}

type Answer = { readonly kind: 'allow'; readonly acl: TopicAcl | null } | { readonly kind: 'deny'; readonly why: string } | { readonly kind: 'ignore' };
type Called = Answer | { readonly kind: 'failure'; readonly why: string };

export interface CallbackCounters {
  calls: number;
  cacheHits: number;
  failures: number;
}

export class HttpCallbacks {
  private readonly cache = new Map<string, { answer: Answer; until: number }>();
  readonly counters: CallbackCounters = { calls: 0, cacheHits: 0, failures: 0 };

  constructor(
    private readonly settings: HttpSettings,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  get authorizes(): boolean {
    return this.settings.authorizeUrl !== undefined;
  }

  async authenticate(facts: ConnectFacts, peer: PeerFacts): Promise<ProviderOutcome> {
    const url = this.settings.authUrl;
    if (url === undefined) return { kind: 'ignore' };
    const body = { clientId: facts.clientId, username: facts.username ?? null, password: facts.password, instanceId: facts.instanceId, ...peer };
    const answer = await this.ask(url, 'auth', body);
    switch (answer.kind) {
      case 'allow':
        return { kind: 'allow', acl: answer.acl };
      case 'deny':
        return { kind: 'deny', cause: 'http-deny', reason: `HTTP auth callback refused (${answer.why})` };
      case 'ignore':
        return answer;
      case 'failure':
        return this.settings.failurePolicy === 'ignore' ? { kind: 'ignore' } : { kind: 'deny', cause: 'http-failure', reason: `HTTP auth callback failed (${answer.why})` };
    }
  }

  /** The cached authorization answer, or undefined when the callback must be asked. */
  cachedAuthorization(clientId: string, username: string | undefined, instanceId: string, action: 'publish' | 'subscribe', topic: string): boolean | undefined {
    const hit = this.cached(this.key('authz', { clientId, username: username ?? null, instanceId, action, topic }));
    if (hit === undefined) return undefined;
    return hit.kind === 'allow' || (hit.kind === 'ignore' && this.settings.failurePolicy === 'ignore');
  }

  async authorize(clientId: string, username: string | undefined, instanceId: string, action: 'publish' | 'subscribe', topic: string): Promise<boolean> {
    const answer = await this.ask(this.settings.authorizeUrl!, 'authz', { clientId, username: username ?? null, instanceId, action, topic });
    if (answer.kind === 'allow') return true;
    if (answer.kind === 'deny') return false;
    // 'ignore' leaves the decision to what else applies (the grant already allowed it); a failure follows the policy.
    if (answer.kind === 'ignore') return true;
    return this.settings.failurePolicy === 'ignore';
  }

  private async ask(url: string, purpose: 'auth' | 'authz', body: Record<string, unknown>): Promise<Called> {
    // The client's source port changes with every connection: not part of what is cached.
    const { remotePort: _port, ...asked } = body;
    const key = this.key(purpose, asked);
    const hit = this.cached(key);
    if (hit !== undefined) {
      this.counters.cacheHits++;
      return hit;
    }
    this.counters.calls++;
    const answer = await this.call(url, body);
    if (answer.kind === 'failure') {
      this.counters.failures++;
      this.log.warn({ url: safeUrl(url), purpose, clientId: body['clientId'], why: answer.why }, 'HTTP auth callback failed');
      return answer;
    }
    const ttl = (this.settings.cacheSeconds ?? 0) * 1000;
    if (ttl > 0) {
      if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(key, { answer, until: this.now() + ttl });
    }
    return answer;
  }

  private async call(url: string, body: Record<string, unknown>): Promise<Called> {
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...this.settings.headers },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.settings.timeoutMs ?? 5000),
      });
    } catch (err) {
      const name = (err as Error).name;
      return { kind: 'failure', why: name === 'TimeoutError' ? 'timeout' : `network error (${(err as Error).message})` };
    }
    if (res.status === 204) return { kind: 'allow', acl: null };
    const text = await res.text().catch(() => '');
    if (res.status >= 400 && res.status < 500) return { kind: 'deny', why: `HTTP ${res.status}` };
    if (res.status !== 200) return { kind: 'failure', why: `HTTP ${res.status}` };
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return { kind: 'failure', why: 'the answer is not JSON' };
    }
    const result = (parsed as { result?: unknown } | null)?.result;
    if (result === 'deny') return { kind: 'deny', why: 'result deny' };
    if (result === 'ignore') return { kind: 'ignore' };
    if (result !== 'allow') return { kind: 'failure', why: 'the answer has no result allow, deny or ignore' };
    const acl = parseAcl((parsed as { acl?: unknown }).acl);
    if (typeof acl === 'string') return { kind: 'failure', why: acl };
    return { kind: 'allow', acl };
  }

  private cached(key: string): Answer | undefined {
    const entry = this.cache.get(key);
    if (entry === undefined) return undefined;
    if (entry.until <= this.now()) {
      this.cache.delete(key);
      return undefined;
    }
    return entry.answer;
  }

  private key(purpose: string, body: Record<string, unknown>): string {
    return createHash('sha256').update(purpose).update('\u0000').update(JSON.stringify(body)).digest('base64url');
  }
}

/** A URL as it may be logged: no user info, no query. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}
