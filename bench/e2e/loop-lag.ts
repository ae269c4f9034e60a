/**
 * Ferry's own event-loop delay over a window, from its /metrics: prom-client's
 * monitorEventLoopDelay histogram (10 ms resolution) is reset by every scrape, so one scrape
 * opens the window and the next reads the max and p99 of the delays inside it. Null for a
 * broker without the endpoint (Mosquitto, the Node floor).
 */
import { HOST, type BrokerHandle } from './brokers.js';

export interface LoopLag {
  /** ms */
  max: number;
  p99: number;
}

export async function scrapeLoopLag(broker: BrokerHandle): Promise<LoopLag | null> {
  if (broker.httpPort === undefined) return null;
  try {
    const response = await fetch(`http://${HOST}:${broker.httpPort}/metrics`, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) return null;
    const text = await response.text();
    const read = (name: string): number | undefined => {
      const match = new RegExp(`^ferry_nodejs_eventloop_lag_${name}_seconds (\\S+)$`, 'm').exec(text);
      return match === null ? undefined : Number(match[1]) * 1000;
    };
    const max = read('max');
    const p99 = read('p99');
    return max === undefined || p99 === undefined ? null : { max, p99 };
  } catch {
    return null;
  }
}
