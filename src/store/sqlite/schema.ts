/**
 * SQLite schema and migrations. `PRAGMA user_version` holds the schema version and the
 * `schema_migrations` table records when each migration ran. A migration is applied in one
 * transaction; a database newer than SCHEMA_VERSION is refused. See docs/storage.md.
 */
import type Database from 'better-sqlite3';

/** 'FRRY' — marks a SQLite file as a Ferry database (PRAGMA application_id). */
export const APPLICATION_ID = 0x46525259;

export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'sessions, subscriptions, messages, queues, in-flight, inbound QoS 2, retained, wills, meta',
    sql: `
      CREATE TABLE schema_migrations (
        version     INTEGER PRIMARY KEY,
        description TEXT NOT NULL,
        applied_at  INTEGER NOT NULL
      );
      -- sid: internal session number. A client id that starts a new session gets a new sid, so the
      -- queue of a deleted session can be reclaimed in steps without touching the new one.
      CREATE TABLE sessions (
        client_id        TEXT PRIMARY KEY,
        sid              INTEGER NOT NULL UNIQUE,
        instance_id      TEXT NOT NULL,
        protocol_version INTEGER NOT NULL,
        expiry_interval  INTEGER NOT NULL,
        disconnected_at  INTEGER,
        expires_at       INTEGER            -- disconnected_at + expiry; NULL when connected or never
      );
      CREATE INDEX sessions_expires ON sessions(expires_at) WHERE expires_at IS NOT NULL;
      CREATE TABLE dead_sessions (sid INTEGER PRIMARY KEY);
      CREATE TABLE subscriptions (
        sid                 INTEGER NOT NULL,
        key                 TEXT NOT NULL,
        qos                 INTEGER NOT NULL,
        no_local            INTEGER NOT NULL,
        retain_as_published INTEGER NOT NULL,
        retain_handling     INTEGER NOT NULL,
        subscription_id     INTEGER NOT NULL,
        share_group         TEXT,
        filter              TEXT NOT NULL,
        PRIMARY KEY (sid, key)
      ) WITHOUT ROWID;
      -- Every message once; refs = queue + in-flight + retained references.
      CREATE TABLE messages (
        id          INTEGER PRIMARY KEY,
        topic       TEXT NOT NULL,
        payload     BLOB NOT NULL,
        qos         INTEGER NOT NULL,
        retain      INTEGER NOT NULL,
        properties  BLOB,
        expires_at  INTEGER NOT NULL,
        created_at  INTEGER NOT NULL,
        refs        INTEGER NOT NULL
      );
      -- seq is store-wide increasing: order within a session, age across an instance.
      CREATE TABLE queue (
        seq          INTEGER PRIMARY KEY,
        sid          INTEGER NOT NULL,
        instance_id  TEXT NOT NULL,
        message_id   INTEGER NOT NULL,
        qos          INTEGER NOT NULL,
        retain       INTEGER NOT NULL,
        sub_ids      TEXT,
        share_group  TEXT,
        share_filter TEXT,
        created_at   INTEGER NOT NULL,
        expires_at   INTEGER NOT NULL
      );
      CREATE INDEX queue_session ON queue(sid, seq);
      CREATE INDEX queue_instance ON queue(instance_id, seq);
      CREATE INDEX queue_expires ON queue(expires_at) WHERE expires_at > 0;
      CREATE TABLE inflight (
        sid          INTEGER NOT NULL,
        packet_id    INTEGER NOT NULL,
        seq          INTEGER NOT NULL,
        message_id   INTEGER,                -- NULL once released (QoS 2 PUBREC received)
        qos          INTEGER NOT NULL,
        retain       INTEGER NOT NULL,
        sub_ids      TEXT,
        share_group  TEXT,
        share_filter TEXT,
        released     INTEGER NOT NULL,
        PRIMARY KEY (sid, packet_id)
      ) WITHOUT ROWID;
      CREATE TABLE inbound_qos2 (
        sid       INTEGER NOT NULL,
        packet_id INTEGER NOT NULL,
        PRIMARY KEY (sid, packet_id)
      ) WITHOUT ROWID;
      CREATE TABLE retained (
        topic      TEXT PRIMARY KEY,
        message_id INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX retained_expires ON retained(expires_at) WHERE expires_at > 0;
      CREATE TABLE wills (
        client_id  TEXT PRIMARY KEY,
        topic      TEXT NOT NULL,
        payload    BLOB NOT NULL,
        qos        INTEGER NOT NULL,
        retain     INTEGER NOT NULL,
        properties BLOB,
        expires_at INTEGER NOT NULL,
        publish_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    description: 'records: keyed JSON documents per collection (tenancy, auth)',
    sql: `
      CREATE TABLE records (
        collection TEXT NOT NULL,
        key        TEXT NOT NULL,
        value      TEXT NOT NULL,
        PRIMARY KEY (collection, key)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 3,
    description: 'logs: durable FIFO logs (rule outboxes, dead letters, built-in queues)',
    sql: `
      CREATE TABLE logs (
        seq        INTEGER PRIMARY KEY,   -- store-wide increasing (shared with queue/inflight seqs)
        log        TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        meta       TEXT NOT NULL,         -- JSON made by the log's owner
        payload    BLOB NOT NULL
      );
      CREATE INDEX logs_by_log ON logs(log, seq);
    `,
  },
  {
    version: 4,
    description: 'queue.bytes: payload + topic bytes of each entry (byte caps per session and instance)',
    sql: `
      ALTER TABLE queue ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
      UPDATE queue SET bytes = coalesce(
        (SELECT length(CAST(m.topic AS BLOB)) + length(m.payload) FROM messages m WHERE m.id = queue.message_id), 0);
    `,
  },
  {
    version: 5,
    description: 'messages.trace_id: the trace number a message was stored with (names a dropped queued message in traces)',
    sql: `ALTER TABLE messages ADD COLUMN trace_id INTEGER NOT NULL DEFAULT 0;`,
  },
  {
    version: 6,
    description: 'queue_acked: per session, the seq through which its queue is acknowledged (rows at or below it are gone, reclaimed later)',
    // A draining session's delivered head is recorded as one value per batch instead of a
    // delete per entry; the rows and their messages are deleted later, off the drain's path.
    sql: `CREATE TABLE queue_acked (sid INTEGER PRIMARY KEY, through INTEGER NOT NULL);`,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** Applies every migration above `current`, each in its own transaction. */
export function migrate(db: Database.Database, current: number, now: number): void {
  for (const migration of MIGRATIONS) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)').run(
        migration.version,
        migration.description,
        now,
      );
      db.pragma(`user_version = ${migration.version}`);
    })();
  }
}
