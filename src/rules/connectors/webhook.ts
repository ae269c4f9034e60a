/**
 * Webhook (`http://`, `https://`), an undici Pool of keep-alive connections per target (undici's
 * request API: a quarter of the CPU per request of fetch(), which is built on the same library).
 *
 * One POST per item to the URL as given (its query is the receiver's, not Ferry's). Body, JSON:
 * - message: the property keys (strings, as on every connector) + `"payload"`: the bytes, base64;
 * - status: exactly the reference's status body (`clientId`, `time`, `eventType`, `channelId`, `clientIp`).
 * Headers: `Content-Type: application/json`, `X-Ferry-Event: message | connect | disconnect |
 * tcpclean`, `X-Ferry-Timestamp: <ms>`, and with a secret `X-Ferry-Signature: sha256=<hex>` =
 * HMAC-SHA256(secret, `<timestamp>.<body>`) — the receiver recomputes it over the raw body and
 * rejects old timestamps (replays). `user:pass@` in the URL becomes Basic authorization.
 *
 * 2xx = delivered. 408, 429, 5xx, timeouts and network errors are retryable failures; any other
 * status is a refusal (retryable: false) — retrying the same body cannot succeed.
 */
import { createHmac } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { Pool } from 'undici';
import { messageProperties, statusBody } from './properties.js';
import { DEFAULT_TIMEOUT_MS, HealthTracker, InFlightGate, OK, errorText, failAll, failed } from './shared.js';
import { UrlParams, redactUrl } from './url.js';
import type { ConnectorFactory } from './registry.js';
import type { ConnectorHealth, DeliveryOutcome, TargetConnector, TargetItem, TargetOptions } from './types.js';

export const SIGNATURE_HEADER = 'x-ferry-signature';
export const TIMESTAMP_HEADER = 'x-ferry-timestamp';
export const EVENT_HEADER = 'x-ferry-event';

/** Clients of one batch whose requests are in flight at once (keep-alive connections to the receiver). */
const CONCURRENCY = 16;

/** HMAC-SHA256 over `<timestamp>.<body>`, as the receiver must compute it. */
export function webhookSignature(secret: string, timestamp: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

export function parseWebhookTarget(url: URL): void {
  const params = new UrlParams(url, 'webhook target');
  if (url.hostname === '') throw params.error('host', 'needs a host');
  // The query belongs to the receiver: nothing to reject.
}

export function webhookBody(item: TargetItem): string {
  if (item.type === 'status') return statusBody(item.event).toString('utf8');
  return JSON.stringify({ ...messageProperties(item.message), payload: item.message.payload.toString('base64') });
}

export class WebhookTarget implements TargetConnector {
  readonly url: string;
  private readonly pool: Pool;
  private readonly path: string;
  private readonly authorization: string | undefined;
  private readonly health_: HealthTracker;
  private readonly timeoutMs: number;
  private readonly secret: string | undefined;
  private stopped = false;
  private readonly inflight = new Set<AbortController>();

  constructor(
    private readonly parsed: URL,
    options: TargetOptions,
  ) {
    parseWebhookTarget(parsed);
    this.url = redactUrl(parsed);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.secret = options.secret;
    this.health_ = new HealthTracker(this.url, 'webhook', options.logger);
    // Credentials in the URL go as Basic authorization, never in the request line.
    if (parsed.username !== '' || parsed.password !== '') {
      const user = decodeURIComponent(parsed.username);
      const pass = decodeURIComponent(parsed.password);
      this.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    }
    this.path = `${parsed.pathname || '/'}${parsed.search}`;
    this.pool = new Pool(parsed.origin, {
      connections: CONCURRENCY,
      connectTimeout: this.timeoutMs,
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
    });
  }

  async start(): Promise<void> {
    // HTTP has no session to open; health reflects the last delivery.
    this.health_.connected();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.health_.stopped();
    for (const controller of this.inflight) controller.abort();
    await this.pool.destroy().catch(() => undefined);
  }

  async health(): Promise<ConnectorHealth> {
    return this.health_.snapshot();
  }

  async deliver(batch: readonly TargetItem[]): Promise<DeliveryOutcome[]> {
    if (batch.length === 0) return [];
    if (this.stopped) return failAll(batch.length, 'connector stopped');
    // Per-client order: a client's items go one after the other (different clients in parallel),
    // and once one fails its later items are not sent, so a retry cannot overtake them.
    const byClient = new Map<string, number[]>();
    batch.forEach((item, i) => {
      const key = item.type === 'status' ? item.event.clientId : item.message.clientId;
      const list = byClient.get(key);
      if (list) list.push(i);
      else byClient.set(key, [i]);
    });
    const results: DeliveryOutcome[] = Array.from({ length: batch.length }, () => OK);
    const gate = new InFlightGate(CONCURRENCY);
    await Promise.all(
      [...byClient.values()].map(async (indexes) => {
        await gate.acquire();
        try {
          for (const [n, i] of indexes.entries()) {
            const outcome = await this.post(batch[i]!);
            results[i] = outcome;
            if (!outcome.ok) {
              const skipped = failed(`not sent: an earlier message of this client failed (${outcome.reason})`, true);
              for (const later of indexes.slice(n + 1)) results[later] = skipped;
              break;
            }
          }
        } finally {
          gate.release();
        }
      }),
    );
    const firstFailure = results.find((r) => !r.ok);
    if (firstFailure && !firstFailure.ok) this.health_.error(firstFailure.reason);
    else this.health_.connected();
    return results;
  }

  private async post(item: TargetItem): Promise<DeliveryOutcome> {
    const body = webhookBody(item);
    const timestamp = String(Date.now());
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      [EVENT_HEADER]: item.type === 'status' ? item.event.eventType : 'message',
      [TIMESTAMP_HEADER]: timestamp,
    };
    if (this.secret !== undefined) headers[SIGNATURE_HEADER] = webhookSignature(this.secret, timestamp, body);
    if (this.authorization !== undefined) headers.authorization = this.authorization;
    const controller = new AbortController();
    this.inflight.add(controller);
    const timer = setTimeout(() => controller.abort(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    try {
      const response = await this.pool.request({ path: this.path, method: 'POST', headers, body, signal: controller.signal });
      // Drain the body so the keep-alive connection can be reused.
      await response.body.dump().catch(() => undefined);
      const status = response.statusCode;
      if (status >= 200 && status < 300) return OK;
      const retryable = status === 408 || status === 429 || status >= 500;
      return failed(`HTTP ${status}${STATUS_CODES[status] ? ` ${STATUS_CODES[status]}` : ''}`, retryable);
    } catch (err) {
      const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
      const reason = controller.signal.aborted
        ? String(controller.signal.reason instanceof Error ? controller.signal.reason.message : 'aborted')
        : `${errorText(err, this.parsed)}${cause}`;
      return failed(reason);
    } finally {
      clearTimeout(timer);
      this.inflight.delete(controller);
    }
  }
}

export const webhookConnector: ConnectorFactory = {
  target: {
    check: (url) => parseWebhookTarget(url),
    create: (url, options) => new WebhookTarget(url, options),
  },
};
