/** The page list: global pages and pages of one instance, in navigation order. */
import type { JSX } from 'preact';
import type { Route } from '../router';
import { ClientPage, Clients } from './clients';
import { Instances } from './instances';
import { Overview } from './overview';

interface PageDef {
  readonly page: string;
  readonly title: string;
  readonly nav?: boolean;
}

export const GLOBAL_PAGES: readonly PageDef[] = [{ page: 'instances', title: 'Instances' }];

export const PAGES: readonly PageDef[] = [
  { page: 'overview', title: 'Overview' },
  { page: 'clients', title: 'Clients' },
];

export function renderPage(route: Route): JSX.Element {
  const id = route.instanceId;
  if (id === undefined) {
    switch (route.page) {
      default:
        return <Instances />;
    }
  }
  switch (route.page) {
    case 'clients':
      return route.arg === undefined ? <Clients key={id} instanceId={id} /> : <ClientPage key={`${id}/${route.arg}`} instanceId={id} clientId={route.arg} />;
    default:
      return <Overview key={id} instanceId={id} />;
  }
}
