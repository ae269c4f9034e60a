/** Showing untrusted data: always as text (Preact escapes it), binary as hex, times as ISO. */

function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f) return true;
  }
  return false;
}

/** A payload from the API (base64) as text when it is printable UTF-8, else hex. */
export function payloadText(base64: string): { text: string; encoding: 'utf8' | 'hex' } {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    // Control characters other than tab/newline make it binary for display purposes.
    if (!hasControl(text)) return { text, encoding: 'utf8' };
  } catch {
    // not UTF-8
  }
  return { text: Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' '), encoding: 'hex' };
}

export function time(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || ms <= 0) return '—';
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function num(n: number | undefined): string {
  if (n === undefined || Number.isNaN(n)) return '—';
  if (Math.abs(n) >= 100 || Number.isInteger(n)) return Math.round(n).toLocaleString('en');
  return n.toFixed(1);
}

/** Any JSON-ish cell value as text. */
export function cell(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}
