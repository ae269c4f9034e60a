/**
 * How a ferry subcommand fails: one line on stderr and a non-zero exit, never a stack trace
 * (`--verbose` adds the details). UsageError (args.ts) exits 2; CommandFailure and ApiError
 * (client.ts) exit 1: the command was understood but could not do what was asked.
 */
export class CommandFailure extends Error {
  constructor(
    message: string,
    /** Shown with --verbose: the underlying error or answer. */
    readonly detail?: unknown,
  ) {
    super(message);
  }
}

/** The message of anything thrown, on one line. */
export function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** Details for --verbose: the stack and the cause chain (bounded). */
export function details(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    if (e instanceof CommandFailure && e.detail !== undefined) {
      parts.push(e.stack ?? e.message);
      e = e.detail;
      continue;
    }
    parts.push(e instanceof Error ? (e.stack ?? e.message) : typeof e === 'string' ? e : JSON.stringify(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join('\ncaused by: ');
}
