/**
 * A small argv parser for the ferry subcommands: positionals, `--name value`, `--name=value`,
 * repeated options (collected), boolean flags (declared), and `-i` for `--instance`.
 */
export class UsageError extends Error {}

export interface Parsed {
  readonly positionals: string[];
  readonly options: Map<string, string[]>;
  readonly flags: Set<string>;
}

const SHORT: Record<string, string> = { '-i': '--instance', '-q': '--qos', '-t': '--topic', '-m': '--message', '-h': '--help', '-c': '--clients' };

export function parseArgs(argv: readonly string[], booleanFlags: readonly string[]): Parsed {
  const positionals: string[] = [];
  const options = new Map<string, string[]>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    arg = SHORT[arg] ?? arg;
    if (!arg.startsWith('--') || arg === '--') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    if (booleanFlags.includes(name)) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      flags.add(name);
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    options.set(name, [...(options.get(name) ?? []), value]);
  }
  return { positionals, options, flags };
}

export class Args {
  constructor(readonly parsed: Parsed) {}

  get(name: string): string | undefined {
    const values = this.parsed.options.get(name);
    return values === undefined ? undefined : values[values.length - 1];
  }

  all(name: string): string[] {
    return this.parsed.options.get(name) ?? [];
  }

  flag(name: string): boolean {
    return this.parsed.flags.has(name);
  }

  positional(index: number, what: string): string {
    const value = this.parsed.positionals[index];
    if (value === undefined) throw new UsageError(`missing ${what}`);
    return value;
  }

  int(name: string, fallback: number): number {
    const text = this.get(name);
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isInteger(value)) throw new UsageError(`--${name} must be an integer`);
    return value;
  }
}

/** `30s`, `15m`, `2h`, `3d` or plain seconds → milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(text);
  if (m === null) throw new UsageError(`"${text}" is not a duration (e.g. 90s, 15m, 2h, 3d)`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit * 1000;
}
