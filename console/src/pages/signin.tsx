/** Sign-in: AccessKey ID and secret (or a bearer token from `POST /api/v1/auth/token`). */
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { signIn, type Session } from '../api';
import { Field, Form, message } from '../components';

export function SignIn(props: { onSignedIn: (session: Session) => void }): JSX.Element {
  const [id, setId] = useState('');
  const [secret, setSecret] = useState('');
  const [token, setToken] = useState('');
  const [useToken, setUseToken] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      props.onSignedIn(await signIn(useToken ? { token: token.trim() } : { accessKeyId: id.trim(), accessKeySecret: secret }));
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <h1>
        <span class="mark" aria-hidden="true" /> Ferry console
      </h1>
      <Form label="Sign in" onSubmit={() => void submit()} class="form signin-form">
        {useToken ? (
          <Field label="Bearer token" type="password" value={token} onInput={setToken} required autoComplete="off" name="token" />
        ) : (
          <>
            <Field label="AccessKey ID" value={id} onInput={setId} required autoComplete="username" name="accessKeyId" />
            <Field label="AccessKey Secret" type="password" value={secret} onInput={setSecret} required autoComplete="current-password" name="accessKeySecret" />
          </>
        )}
        {error === undefined ? null : (
          <p class="note error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          Sign in
        </button>
        <button type="button" class="link" onClick={() => setUseToken(!useToken)}>
          {useToken ? 'Use an AccessKey instead' : 'Use a bearer token instead'}
        </button>
      </Form>
      <p class="muted">The session lasts up to 8 hours and carries your AccessKey's policies.</p>
    </main>
  );
}
