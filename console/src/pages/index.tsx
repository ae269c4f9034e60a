/** The page list: global pages and pages of one instance, in navigation order. */
import type { JSX } from 'preact';
import type { Route } from '../router';
import { AccessKeys } from './access-keys';
import { Credentials, CustomAuth, Tokens } from './auth';
import { Certificates } from './certificates';
import { ClientPage, Clients } from './clients';
import { Instances } from './instances';
import { RetainedPage, Send } from './messages';
import { Overview } from './overview';
import { RulePage, Rules } from './rules';
import { SignatureTool } from './signature';
import { Blacklist, Groups, Topics } from './topics';
import { Traces } from './traces';

interface PageDef {
  readonly page: string;
  readonly title: string;
}

export const GLOBAL_PAGES: readonly PageDef[] = [
  { page: 'instances', title: 'Instances' },
  { page: 'access-keys', title: 'AccessKeys' },
  { page: 'signature', title: 'Signature tool' },
];

export const PAGES: readonly PageDef[] = [
  { page: 'overview', title: 'Overview' },
  { page: 'clients', title: 'Clients' },
  { page: 'topics', title: 'Parent topics' },
  { page: 'groups', title: 'Groups' },
  { page: 'retained', title: 'Retained messages' },
  { page: 'send', title: 'Send a message' },
  { page: 'traces', title: 'Traces' },
  { page: 'rules', title: 'Rules' },
  { page: 'tokens', title: 'Tokens' },
  { page: 'credentials', title: 'Device credentials' },
  { page: 'certificates', title: 'Certificates' },
  { page: 'custom-auth', title: 'Custom auth' },
  { page: 'blacklist', title: 'Blacklist' },
];

export function renderPage(route: Route): JSX.Element {
  const id = route.instanceId;
  if (id === undefined) {
    switch (route.page) {
      case 'access-keys':
        return <AccessKeys />;
      case 'signature':
        return <SignatureTool />;
      default:
        return <Instances />;
    }
  }
  const key = `${id}/${route.page}`;
  switch (route.page) {
    case 'clients':
      return route.arg === undefined ? <Clients key={key} instanceId={id} /> : <ClientPage key={`${key}/${route.arg}`} instanceId={id} clientId={route.arg} />;
    case 'topics':
      return <Topics key={key} instanceId={id} />;
    case 'groups':
      return <Groups key={key} instanceId={id} />;
    case 'retained':
      return <RetainedPage key={key} instanceId={id} />;
    case 'send':
      return <Send key={key} instanceId={id} />;
    case 'traces':
      return <Traces key={`${key}/${route.arg ?? ''}`} instanceId={id} {...(route.arg === undefined ? {} : { arg: route.arg })} />;
    case 'rules':
      return route.arg === undefined ? <Rules key={key} instanceId={id} /> : <RulePage key={`${key}/${route.arg}`} instanceId={id} ruleId={route.arg} />;
    case 'tokens':
      return <Tokens key={key} instanceId={id} />;
    case 'credentials':
      return <Credentials key={key} instanceId={id} />;
    case 'certificates':
      return <Certificates key={key} instanceId={id} />;
    case 'custom-auth':
      return <CustomAuth key={key} instanceId={id} />;
    case 'blacklist':
      return <Blacklist key={key} instanceId={id} />;
    default:
      return <Overview key={id} instanceId={id} />;
  }
}
