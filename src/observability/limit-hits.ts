/**
 * How often each protective limit refused something (docs/security.md lists them all). One plain
 * counter per limit, incremented on the refusing path and read by /metrics as
 * ferry_limit_hits_total{limit}; the names are a fixed set, so the label stays bounded.
 */
export const LIMIT_NAMES = [
  'api_nonce_length',
  'api_nonce_quota',
  'api_token_quota',
  'connect_packet_size',
  'connect_timeout',
  'http_connections_per_address',
  'http_timeout',
  'sys_publish',
  'topic_alias_bytes',
  'session_queue_bytes',
  'instance_queue_bytes',
  'log_lines_suppressed',
  'log_lines_dropped',
] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];

export class LimitHits {
  private readonly counts = new Map<LimitName, number>(LIMIT_NAMES.map((name) => [name, 0]));

  hit(name: LimitName, n = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + n);
  }

  get(name: LimitName): number {
    return this.counts.get(name) ?? 0;
  }

  entries(): IterableIterator<[LimitName, number]> {
    return this.counts.entries();
  }
}
