/** Small building blocks: labelled fields, tables, loaders, permission checks, messages. */
import { createContext, type ComponentChildren, type JSX } from 'preact';
import { useCallback, useContext, useEffect, useId, useState } from 'preact/hooks';
import { ApiError } from './api';
import { cell } from './format';

// Permissions ---------------------------------------------------------------------------------

/** The API actions the signed-in key may use on the current instance (GET /auth/permissions). */
export const Permissions = createContext<ReadonlySet<string>>(new Set());

/** True if the key's policies allow the action; the server checks again on every call. */
export function useCan(): (action: string) => boolean {
  const allowed = useContext(Permissions);
  return (action) => allowed.has(action);
}

// Loading -------------------------------------------------------------------------------------

export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: string | undefined;
  readonly loading: boolean;
  reload(): void;
}

export function message(err: unknown): string {
  if (err instanceof ApiError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setLoading(true);
    load().then(
      (value) => {
        if (!live) return;
        setData(value);
        setError(undefined);
        setLoading(false);
      },
      (err: unknown) => {
        if (!live) return;
        setError(message(err));
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload };
}

/** Runs an action, keeping its outcome for a status line. */
export function useAction(): { busy: boolean; note: Note | undefined; run: (what: string, action: () => Promise<unknown>) => Promise<boolean> } {
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<Note | undefined>(undefined);
  const run = async (what: string, action: () => Promise<unknown>): Promise<boolean> => {
    setBusy(true);
    try {
      await action();
      setNote({ kind: 'ok', text: what });
      return true;
    } catch (err) {
      setNote({ kind: 'error', text: message(err) });
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, note, run };
}

export interface Note {
  readonly kind: 'ok' | 'error';
  readonly text: string;
}

export function Status({ note }: { note: Note | undefined }): JSX.Element | null {
  if (note === undefined) return null;
  return (
    <p class={`note ${note.kind}`} role={note.kind === 'error' ? 'alert' : 'status'}>
      {note.text}
    </p>
  );
}

export function ErrorBox({ error }: { error: string | undefined }): JSX.Element | null {
  if (error === undefined) return null;
  return (
    <p class="note error" role="alert">
      {error}
    </p>
  );
}

// Form controls -------------------------------------------------------------------------------

interface FieldProps {
  label: string;
  value: string;
  onInput: (value: string) => void;
  type?: string;
  placeholder?: string;
  required?: boolean;
  autoComplete?: string;
  hint?: string;
  name?: string;
}

/** A text input with a visible label. */
export function Field(props: FieldProps): JSX.Element {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type={props.type ?? 'text'}
        value={props.value}
        placeholder={props.placeholder}
        required={props.required}
        autocomplete={props.autoComplete ?? 'off'}
        spellcheck={false}
        onInput={(e) => props.onInput((e.currentTarget as HTMLInputElement).value)}
      />
      {props.hint === undefined ? null : <small>{props.hint}</small>}
    </div>
  );
}

export function TextArea(props: { label: string; value: string; onInput: (value: string) => void; rows?: number }): JSX.Element {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <textarea id={id} rows={props.rows ?? 4} value={props.value} spellcheck={false} onInput={(e) => props.onInput((e.currentTarget as HTMLTextAreaElement).value)} />
    </div>
  );
}

export function Select(props: { label: string; value: string; options: readonly string[]; onChange: (value: string) => void; labels?: Readonly<Record<string, string>> }): JSX.Element {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <select id={id} value={props.value} onChange={(e) => props.onChange((e.currentTarget as HTMLSelectElement).value)}>
        {props.options.map((o) => (
          <option key={o} value={o}>
            {props.labels?.[o] ?? (o === '' ? '(any)' : o)}
          </option>
        ))}
      </select>
    </div>
  );
}

export function Check(props: { label: string; checked: boolean; onChange: (value: boolean) => void }): JSX.Element {
  const id = useId();
  return (
    <div class="field check">
      <input id={id} type="checkbox" checked={props.checked} onChange={(e) => props.onChange((e.currentTarget as HTMLInputElement).checked)} />
      <label for={id}>{props.label}</label>
    </div>
  );
}

/** A form that submits with Enter and the button, and never navigates. */
export function Form(props: { label: string; onSubmit: () => void; children: ComponentChildren; class?: string }): JSX.Element {
  return (
    <form
      class={props.class ?? 'form'}
      aria-label={props.label}
      onSubmit={(e) => {
        e.preventDefault();
        props.onSubmit();
      }}
    >
      {props.children}
    </form>
  );
}

/**
 * A destructive button that asks once more in place (no modal dialogs). In a table row, `target`
 * names the row for screen readers ("Delete GID_a") while the button shows the short label.
 */
export function DangerButton(props: { label: string; target?: string; onConfirm: () => void; disabled?: boolean }): JSX.Element {
  const [asking, setAsking] = useState(false);
  const name = props.target === undefined ? undefined : `${props.label} ${props.target}`;
  if (!asking) {
    return (
      <button type="button" class="danger" aria-label={name} disabled={props.disabled} onClick={() => setAsking(true)}>
        {props.label}
      </button>
    );
  }
  return (
    <span class="confirm">
      <button
        type="button"
        class="danger"
        aria-label={name === undefined ? undefined : `Confirm: ${name}`}
        onClick={() => {
          setAsking(false);
          props.onConfirm();
        }}
      >
        Confirm: {props.label}
      </button>
      <button type="button" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}

// Tables --------------------------------------------------------------------------------------

export interface Column<T> {
  readonly label: string;
  readonly value: (row: T) => ComponentChildren;
}

export function Table<T>(props: { caption: string; columns: readonly Column<T>[]; rows: readonly T[] | undefined; empty?: string; rowKey?: (row: T, i: number) => string }): JSX.Element {
  const rows = props.rows ?? [];
  return (
    <div class="table-wrap">
      <table>
        <caption>{props.caption}</caption>
        <thead>
          <tr>
            {props.columns.map((c) => (
              <th key={c.label} scope="col">
                {c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 ? (
            <tr>
              <td colSpan={props.columns.length} class="empty">
                {props.rows === undefined ? 'Loading…' : (props.empty ?? 'Nothing here yet.')}
              </td>
            </tr>
          ) : (
            rows.map((row, i) => (
              <tr key={props.rowKey?.(row, i) ?? String(i)}>
                {props.columns.map((c) => (
                  <td key={c.label}>{c.value(row)}</td>
                ))}
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}

/** Columns for plain records: one per key of the first row. */
export function columnsOf<T extends object>(rows: readonly T[] | undefined, skip: readonly string[] = []): Column<T>[] {
  const first = rows?.[0];
  if (first === undefined) return [{ label: 'Value', value: () => '' }];
  return Object.keys(first)
    .filter((k) => !skip.includes(k))
    .map((k) => ({ label: k, value: (row: T) => cell((row as Record<string, unknown>)[k]) }));
}

/** Previous/next over cursor pages: the cursors seen so far are kept, never the rows. */
export function usePager(): { cursor: string | undefined; page: number; next: (cursor: string) => void; prev: () => void; reset: () => void } {
  const [stack, setStack] = useState<string[]>([]);
  return {
    cursor: stack[stack.length - 1],
    page: stack.length + 1,
    next: (cursor) => setStack((s) => [...s, cursor]),
    prev: () => setStack((s) => s.slice(0, -1)),
    reset: () => setStack([]),
  };
}

export function Pager(props: { page: number; total: number | undefined; next: string | null | undefined; onNext: () => void; onPrev: () => void }): JSX.Element {
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" disabled={props.page <= 1} onClick={props.onPrev}>
        Previous page
      </button>
      <span>
        Page {props.page}
        {props.total === undefined ? '' : ` · ${props.total.toLocaleString('en')} in all`}
      </span>
      <button type="button" disabled={props.next === null || props.next === undefined} onClick={props.onNext}>
        Next page
      </button>
    </nav>
  );
}

export function Section(props: { title: string; children: ComponentChildren; actions?: ComponentChildren }): JSX.Element {
  return (
    <section class="card">
      <header class="card-head">
        <h2>{props.title}</h2>
        {props.actions}
      </header>
      {props.children}
    </section>
  );
}
