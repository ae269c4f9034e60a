/**
 * Where the CLI finds Ferry, first match wins:
 *   API   --endpoint URL | FERRY_ENDPOINT | <data dir>/ferry.endpoint.json | http://127.0.0.1:8080
 *   MQTT  --url URL      | FERRY_MQTT_URL | <data dir>/ferry.endpoint.json | mqtt://127.0.0.1:1883
 * The data directory is --data-dir | FERRY_DATA_DIR | ./data, the same one the bootstrap key is
 * read from (client.ts). A file left by a Ferry that is no longer running is ignored, with a note.
 */
import { readEndpointFile, type EndpointLookup, type EndpointRecord } from '../../discovery/endpoint-file.js';
import type { Args } from './args.js';

export const DEFAULT_API = 'http://127.0.0.1:8080';
export const DEFAULT_MQTT = 'mqtt://127.0.0.1:1883';

export function dataDirOf(args: Args, env: NodeJS.ProcessEnv): string {
  return args.get('data-dir') ?? env['FERRY_DATA_DIR'] ?? './data';
}

export class Endpoints {
  private lookup: EndpointLookup | undefined;
  private noted = false;

  constructor(
    private readonly args: Args,
    private readonly env: NodeJS.ProcessEnv,
    /** Notes for the user (stderr): a stale or unreadable endpoint file, where URLs came from with --verbose. */
    private readonly note: (line: string) => void,
  ) {}

  /** The running Ferry's record, when its endpoint file is there and its process alive. */
  running(): EndpointRecord | undefined {
    this.lookup ??= readEndpointFile(dataDirOf(this.args, this.env));
    const found = this.lookup;
    if (!this.noted) {
      this.noted = true;
      if (found.kind === 'stale') this.note(`ignoring ${found.file}: the Ferry that wrote it (pid ${found.record.pid}) is not running`);
      else if (found.kind === 'invalid') this.note(`ignoring ${found.file}: ${found.reason}`);
    }
    return found.kind === 'found' ? found.record : undefined;
  }

  api(): string {
    return (this.pick('endpoint', 'FERRY_ENDPOINT', 'http') ?? DEFAULT_API).replace(/\/$/, '');
  }

  mqtt(): string {
    return this.pick('url', 'FERRY_MQTT_URL', 'mqtt') ?? DEFAULT_MQTT;
  }

  /** The instance anonymous clients land in, as far as the CLI can tell. */
  defaultInstance(): string {
    return this.running()?.defaultInstance ?? 'mqtt-default';
  }

  private pick(option: string, variable: string, url: 'http' | 'mqtt'): string | undefined {
    const given = this.args.get(option) ?? this.env[variable];
    if (given !== undefined && given !== '') return given;
    const found = this.running()?.urls[url];
    if (found !== undefined && this.args.flag('verbose')) this.note(`using ${found} from ${this.lookup?.file}`);
    return found;
  }
}
