/**
 * Hash routes, so the server serves one static page:
 *   #/instances   #/access-keys   #/signature
 *   #/i/<instance>/<page>[/<arg>]   e.g. #/i/mqtt-a/clients/<client id, URI-encoded>
 */
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  readonly page: string;
  readonly instanceId?: string;
  readonly arg?: string;
}

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  if (parts[0] === 'i' && parts[1] !== undefined && parts[1] !== '') {
    const arg = parts.slice(3).join('/');
    return { instanceId: parts[1], page: parts[2] || 'overview', ...(arg === '' ? {} : { arg }) };
  }
  return { page: parts[0] || 'instances' };
}

export function href(route: Route): string {
  if (route.instanceId === undefined) return `#/${route.page}`;
  return `#/i/${encodeURIComponent(route.instanceId)}/${route.page}${route.arg === undefined ? '' : `/${encodeURIComponent(route.arg)}`}`;
}

export function go(route: Route): void {
  location.hash = href(route);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const update = (): void => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}
