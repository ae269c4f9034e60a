/**
 * Message and device traces (managed service §6.2): what the process starts, and the query API
 * the RPC actions (QueryMqttTrace*) and the REST routes call. See docs/observability.md.
 *
 *   broker.tracer = service.recorder   (null when tracing is off)
 *   service.queryDeviceTrace({instanceId, clientId, beginTime, endTime, currentPage, pageSize, reverse})
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import type { TraceQueries, TracePage } from '../../management/traces.js';
import type { Message } from '../../session/message.js';
import { newIdPrefix, TraceRecorder } from './recorder.js';
import { openTraceDbForReading, TRACE_DB_FILE, type PurgeResult } from './trace-db.js';
import { TraceWriterThread } from './writer.js';
import {
  queryDeviceTrace,
  queryMessageOfClient,
  queryMessagePublish,
  queryMessageSubscribe,
  type ClientTraceQuery,
  type DeviceTracePage,
  type MessageOfClientPage,
  type MessagePublishResult,
  type MessageSubscribePage,
  type MessageSubscribeQuery,
  type MessageTraceQuery,
} from './query.js';

export * from './query.js';
export { TraceCode, TRACE_KINDS, traceKind, type TraceKind } from './codes.js';
export { TraceRecorder, formatTraceId, type TraceBatch, type TraceBatchSink } from './recorder.js';
export type { PurgeResult } from './trace-db.js';

export interface TraceSettings {
  /** Record traces. When false nothing is recorded; existing traces can still be queried. */
  readonly enabled: boolean;
  /** Traces older than this are deleted, seconds. */
  readonly retentionSeconds: number;
  /** At most this many trace events are kept; the oldest go first. */
  readonly maxRows: number;
  /** traces.db may use at most this many bytes on disk (plus its write-ahead log); 0 = no cap. */
  readonly maxBytes?: number;
  /** How often recorded events are written out, ms. */
  readonly flushIntervalMs: number;
  /** How often retention and the row cap are applied, ms (default 60 s). */
  readonly purgeIntervalMs?: number;
  /** Share of one CPU core the writer thread may use, percent; beyond it message events are dropped (counted). */
  readonly writerCpuPercent: number;
}

export const DEFAULT_TRACE_SETTINGS: TraceSettings = {
  enabled: true,
  retentionSeconds: 3 * 24 * 3600,
  maxRows: 10_000_000,
  flushIntervalMs: 200,
  writerCpuPercent: 25,
};

export class TraceService implements TraceQueries {
  private reader: Database.Database | null = null;
  private readonly purgeTimer: NodeJS.Timeout | null = null;
  private closing: Promise<void> | null = null;

  private constructor(
    readonly path: string,
    readonly settings: TraceSettings,
    /** The broker's Tracer while tracing is on. */
    readonly recorder: TraceRecorder | null,
    private readonly writer: TraceWriterThread | null,
    private readonly logger: Logger,
  ) {
    if (writer !== null) {
      this.purgeTimer = setInterval(() => {
        this.purge().catch((err: unknown) => logger.error({ err }, 'trace purge failed'));
      }, settings.purgeIntervalMs ?? 60_000);
      this.purgeTimer.unref();
    }
  }

  /** Opens `<dataDir>/traces.db` and, when enabled, starts the writer thread. */
  static async open(dataDir: string, settings: TraceSettings, logger: Logger, defaultInstanceId: string): Promise<TraceService> {
    const path = join(dataDir, TRACE_DB_FILE);
    if (!settings.enabled) return new TraceService(path, settings, null, null, logger);
    const cpuShare = Math.min(1, Math.max(0.01, settings.writerCpuPercent / 100));
    const idPrefix = newIdPrefix();
    const writer = await TraceWriterThread.start({ path, idPrefix, cpuShare, maxBytes: settings.maxBytes ?? 0 }, logger);
    const recorder = new TraceRecorder({ sink: writer, flushIntervalMs: settings.flushIntervalMs, defaultInstanceId, idPrefix });
    const service = new TraceService(path, settings, recorder, writer, logger);
    await service.purge();
    return service;
  }

  get enabled(): boolean {
    return this.recorder !== null;
  }

  /**
   * The MsgId the traces of a message carry (Management's `msgIdOf`: SendMessage and REST publish
   * answer it); undefined while tracing is off.
   */
  msgIdOf(message: Message): string | undefined {
    return this.recorder?.msgIdOf(message);
  }

  /** Events recorded, dropped (writer behind) and stored since start. */
  get stats(): { recorded: number; dropped: number; stored: number; pendingBatches: number } {
    return {
      recorded: this.recorder?.recorded ?? 0,
      dropped: (this.recorder?.dropped ?? 0) + (this.writer?.dropped ?? 0),
      stored: this.writer?.stored ?? 0,
      pendingBatches: this.writer?.pending ?? 0,
    };
  }

  /** Writes out everything recorded so far; resolves when it is queryable. */
  async flush(): Promise<void> {
    this.recorder?.flush();
    await this.writer?.sync();
  }

  /** Applies retention (relative to `now`) and the row cap. */
  async purge(now = Date.now()): Promise<PurgeResult> {
    if (this.writer === null) return { expired: 0, overCap: 0 };
    const result = await this.writer.purge({ before: now - this.settings.retentionSeconds * 1000, maxRows: this.settings.maxRows, maxBytes: this.settings.maxBytes ?? 0 });
    if (result.expired + result.overCap > 0) this.logger.debug({ ...result }, 'traces purged');
    return result;
  }

  async close(): Promise<void> {
    return (this.closing ??= (async () => {
      if (this.purgeTimer !== null) clearInterval(this.purgeTimer);
      this.recorder?.close();
      await this.writer?.close();
      this.reader?.close();
      this.reader = null;
    })());
  }

  // Queries (ms times, inclusive; see query.ts).

  queryDeviceTrace(q: ClientTraceQuery): Promise<DeviceTracePage> {
    return this.run(() => queryDeviceTrace(this.db(), q));
  }

  queryMessageOfClient(q: ClientTraceQuery): Promise<MessageOfClientPage> {
    return this.run(() => queryMessageOfClient(this.db(), q));
  }

  queryMessagePublish(q: MessageTraceQuery): Promise<MessagePublishResult> {
    return this.run(() => queryMessagePublish(this.db(), q));
  }

  queryMessageSubscribe(q: MessageSubscribeQuery): Promise<MessageSubscribePage> {
    return this.run(() => queryMessageSubscribe(this.db(), q));
  }

  // TraceQueries (src/management/traces.ts), for the RPC actions.

  async deviceEvents(q: ClientTraceQuery): Promise<TracePage<DeviceTracePage['DeviceInfoList'][number]>> {
    const page = await this.queryDeviceTrace(q);
    return { total: page.Total, items: page.DeviceInfoList };
  }

  async messagesOfClient(q: ClientTraceQuery): Promise<TracePage<MessageOfClientPage['MessageOfClientList'][number]>> {
    const page = await this.queryMessageOfClient(q);
    return { total: page.Total, items: page.MessageOfClientList };
  }

  async messagePublish(q: MessageTraceQuery): Promise<MessagePublishResult['MessageTraceLists']> {
    return (await this.queryMessagePublish(q)).MessageTraceLists;
  }

  async messageSubscribe(q: MessageSubscribeQuery): Promise<TracePage<MessageSubscribePage['MessageTraceLists'][number]>> {
    const page = await this.queryMessageSubscribe(q);
    return { total: page.Total, items: page.MessageTraceLists };
  }

  private db(): Database.Database | null {
    if (this.reader === null && this.closing === null && existsSync(this.path)) this.reader = openTraceDbForReading(this.path);
    return this.reader;
  }

  private async run<T>(query: () => T): Promise<T> {
    return query();
  }
}
