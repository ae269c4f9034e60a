/** The console shell: session, navigation, per-instance permissions and the page of the route. */
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, currentSession, query, signOut, whenSignedOut, type Session } from './api';
import { Permissions } from './components';
import { PAGES, GLOBAL_PAGES, renderPage } from './pages';
import { href, useRoute, type Route } from './router';
import { SignIn } from './pages/signin';

export function App(): JSX.Element {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  useEffect(() => {
    whenSignedOut(() => setSession(null));
    void currentSession().then((s) => setSession(s ?? null));
  }, []);
  if (session === undefined) return <p class="muted center">Loading…</p>;
  if (session === null) {
    return (
      <SignIn
        onSignedIn={(s) => {
          location.hash = '#/instances';
          setSession(s);
        }}
      />
    );
  }
  return (
    <Shell
      session={session}
      onSignOut={() =>
        void signOut().then(() => {
          location.hash = '';
          setSession(null);
        })
      }
    />
  );
}

function usePermissions(instanceId: string): ReadonlySet<string> {
  const [allowed, setAllowed] = useState<ReadonlySet<string>>(new Set());
  useEffect(() => {
    let live = true;
    api<{ allowed: string[] }>('GET', `/auth/permissions${query({ instanceId })}`).then(
      (r) => live && setAllowed(new Set(r.allowed)),
      () => live && setAllowed(new Set()),
    );
    return () => {
      live = false;
    };
  }, [instanceId]);
  return allowed;
}

function Shell(props: { session: Session; onSignOut: () => void }): JSX.Element {
  const route = useRoute();
  const allowed = usePermissions(route.instanceId ?? '*');
  useEffect(() => {
    const title = [...GLOBAL_PAGES, ...PAGES].find((p) => p.page === route.page)?.title ?? 'Ferry';
    document.title = `${title}${route.instanceId === undefined ? '' : ` · ${route.instanceId}`} · Ferry console`;
    document.getElementById('main')?.focus();
  }, [route.page, route.instanceId, route.arg]);
  return (
    <Permissions.Provider value={allowed}>
      <a class="skip" href="#main" onClick={(e) => {
          e.preventDefault();
          document.getElementById('main')?.focus();
        }}>
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="#/instances">
          <span class="mark" aria-hidden="true" /> Ferry
        </a>
        {route.instanceId === undefined ? null : (
          <span class="current" aria-label="Current instance">
            {route.instanceId}
          </span>
        )}
        <span class="spacer" />
        <span class="who" aria-label="Signed in as">
          {props.session.accessKeyId}
        </span>
        <button type="button" onClick={props.onSignOut}>
          Sign out
        </button>
      </header>
      <div class="layout">
        <Nav route={route} />
        <main id="main" tabIndex={-1}>
          {renderPage(route)}
        </main>
      </div>
    </Permissions.Provider>
  );
}

function Nav(props: { route: Route }): JSX.Element {
  const { route } = props;
  const link = (r: Route, title: string): JSX.Element => {
    const current = r.page === route.page && r.instanceId === route.instanceId;
    return (
      <li key={`${r.instanceId ?? ''}/${r.page}`}>
        <a href={href(r)} aria-current={current ? 'page' : undefined}>
          {title}
        </a>
      </li>
    );
  };
  return (
    <nav class="side" aria-label="Pages">
      <ul>{GLOBAL_PAGES.map((p) => link({ page: p.page }, p.title))}</ul>
      {route.instanceId === undefined ? (
        <p class="muted small">Pick an instance to see its clients, topics and traces.</p>
      ) : (
        <>
          <h2 class="nav-head">{route.instanceId}</h2>
          <ul>{PAGES.map((p) => link({ page: p.page, instanceId: route.instanceId! }, p.title))}</ul>
        </>
      )}
    </nav>
  );
}
