/** Errors a store raises that callers (and operators) must be able to tell apart. */

/** The database file is damaged, truncated or not a Ferry database. Ferry must not start. */
export class StoreCorruptError extends Error {
  override readonly name = 'StoreCorruptError';
  constructor(
    readonly path: string,
    readonly detail: string,
    /** Shell command that moves the damaged files aside. */
    readonly moveAsideCommand: string,
  ) {
    super(
      `The Ferry database at ${path} is corrupt or unreadable (${detail}). ` +
        `Ferry will not start on it and will not replace it with an empty one. ` +
        `Stop Ferry, move the damaged files aside and start again (a new empty database is created):\n` +
        `  ${moveAsideCommand}\n` +
        `Keep the moved files: see docs/storage.md ("Corruption") for how to try to recover data from them.`,
    );
  }
}

/** Another process holds the database. */
export class StoreLockedError extends Error {
  override readonly name = 'StoreLockedError';
  constructor(readonly path: string) {
    super(`The Ferry database at ${path} is in use by another process (is another Ferry running on this data directory?)`);
  }
}

/** The schema is newer than this build understands. */
export class StoreVersionError extends Error {
  override readonly name = 'StoreVersionError';
  constructor(readonly path: string, readonly found: number, readonly supported: number) {
    super(`The Ferry database at ${path} has schema version ${found}; this Ferry supports up to ${supported}. Upgrade Ferry.`);
  }
}

/** The store is closed, or a commit failed and the store refuses further work. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
}
