/** Relations between topic filters, for permission checks (ACLs, token grants, custom auth). */

/**
 * True if every topic matched by `inner` (a topic or a filter) is also matched by `outer`.
 * '+' in `inner` is covered only by '+' or '#'; '#' only by '#'.
 */
export function filterCovers(outer: string, inner: string): boolean {
  const o = outer.split('/');
  const i = inner.split('/');
  for (let k = 0; k < o.length; k++) {
    const level = o[k]!;
    if (level === '#') return !(k === 0 && i[0]?.startsWith('$'));
    const other = i[k];
    if (other === undefined) return false;
    if (level === '+') {
      if (other === '#') return false;
      if (k === 0 && other.startsWith('$')) return false;
      continue;
    }
    if (level !== other) return false;
  }
  return o.length === i.length;
}
