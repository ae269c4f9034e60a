/** Output of the subcommands: readable tables by default, `--json` for scripts. */

export interface Out {
  json: boolean;
  write(text: string): void;
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return Array.isArray(value) ? value.map(cell).join(',') : JSON.stringify(value);
  if (typeof value === 'number' && value > 1_000_000_000_000 && value < 10_000_000_000_000) return new Date(value).toISOString();
  return String(value);
}

/** A table with the given columns (keys of the rows), headers in upper case. */
export function table(rows: ReadonlyArray<Record<string, unknown>>, columns: readonly string[]): string {
  if (rows.length === 0) return '(none)\n';
  const cells = rows.map((r) => columns.map((c) => cell(r[c])));
  const headers = columns.map((c) => c.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase());
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: string[]): string => values.map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i]!))).join('  ');
  return `${[line(headers), ...cells.map(line)].join('\n')}\n`;
}

/** Key: value lines for one object. */
export function details(record: Record<string, unknown>): string {
  const keys = Object.keys(record);
  const width = Math.max(...keys.map((k) => k.length));
  return `${keys.map((k) => `${`${k}:`.padEnd(width + 1)} ${cell(record[k])}`).join('\n')}\n`;
}

export function show(out: Out, value: unknown, columns?: readonly string[]): void {
  if (out.json) {
    out.write(`${JSON.stringify(value, null, 2)}\n`);
    return;
  }
  if (value === null || value === undefined) {
    out.write('ok\n');
    return;
  }
  const items = (value as { items?: unknown }).items;
  if (Array.isArray(items) && columns !== undefined) {
    const rows = items.map((x) => (typeof x === 'object' && x !== null ? (x as Record<string, unknown>) : { value: x }));
    out.write(table(rows, columns));
    const next = (value as { next?: unknown }).next;
    if (typeof next === 'string') out.write(`(more: --cursor ${next})\n`);
    // A cluster's merged list without the nodes that did not answer (docs/cluster.md).
    const missing = (value as { missingNodes?: unknown }).missingNodes;
    if (Array.isArray(missing)) out.write(`(not answering, left out: ${missing.join(', ')})\n`);
    return;
  }
  if (typeof value === 'object') out.write(details(value as Record<string, unknown>));
  else out.write(`${String(value)}\n`);
}
