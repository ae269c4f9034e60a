/**
 * Every SQL statement the store runs on its hot and paging paths, prepared once at open. Each
 * module gets this one object and runs the statements of its own tables.
 */
import type Database from 'better-sqlite3';

export type Stmt = Database.Statement<unknown[], unknown>;

/** Rows of `appendLogRows`. */
export const APPEND_ROWS = 16;

export type Statements = ReturnType<typeof prepareStatements>;

export function prepareStatements(db: Database.Database) {
  const p = (sql: string): Stmt => db.prepare(sql);
  return {
    insertSession: p(
      `INSERT INTO sessions (client_id, sid, instance_id, protocol_version, expiry_interval, disconnected_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    updateSession: p(
      `UPDATE sessions SET protocol_version = ?, expiry_interval = ?, disconnected_at = ?, expires_at = ? WHERE sid = ?`,
    ),
    updateDisconnected: p(`UPDATE sessions SET disconnected_at = ?, expires_at = ? WHERE sid = ?`),
    deleteSession: p(`DELETE FROM sessions WHERE sid = ?`),
    deleteSubsOf: p(`DELETE FROM subscriptions WHERE sid = ?`),
    deleteInboundOf: p(`DELETE FROM inbound_qos2 WHERE sid = ?`),
    deleteInflightOf: p(`DELETE FROM inflight WHERE sid = ? RETURNING message_id`),
    insertDead: p(`INSERT OR IGNORE INTO dead_sessions (sid) VALUES (?)`),
    deleteDead: p(`DELETE FROM dead_sessions WHERE sid = ?`),
    putSub: p(
      `INSERT OR REPLACE INTO subscriptions
       (sid, key, qos, no_local, retain_as_published, retain_handling, subscription_id, share_group, filter)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    deleteSub: p(`DELETE FROM subscriptions WHERE sid = ? AND key = ?`),
    insertMessage: p(
      `INSERT INTO messages (id, topic, payload, qos, retain, properties, expires_at, created_at, refs, trace_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    messageTrace: p(`SELECT trace_id FROM messages WHERE id = ?`).pluck(),
    messageTimes: p(`SELECT created_at, expires_at, length(CAST(topic AS BLOB)) + length(payload) AS bytes FROM messages WHERE id = ?`),
    getMessage: p(`SELECT id, topic, payload, qos, retain, properties, expires_at, created_at FROM messages WHERE id = ?`),
    addRefs: p(`UPDATE messages SET refs = refs + ? WHERE id = ? RETURNING refs`),
    deleteUnreferenced: p(`DELETE FROM messages WHERE id = ? AND refs <= 0`),
    // Many messages losing the same number of references (a JSON array of ids), in one statement.
    deleteManyIfUnreferencedAfter: p(`DELETE FROM messages WHERE id IN (SELECT value FROM json_each(?)) AND refs + ? <= 0`),
    deleteIfUnreferencedAfter: p(`DELETE FROM messages WHERE id = ? AND refs + ? <= 0`),
    // The same for a run of consecutive ids (ranges.ts): exactly those ids, walked in order.
    deleteRangeIfUnreferencedAfter: p(`DELETE FROM messages WHERE id BETWEEN ? AND ? AND refs + ? <= 0`),
    insertQueue: p(
      `INSERT INTO queue (seq, sid, instance_id, message_id, qos, retain, sub_ids, share_group, share_filter, created_at, expires_at, bytes)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    // The oldest live entries: after the session's acknowledged-through seq (queue_acked).
    dropSessionOldest: p(
      `DELETE FROM queue WHERE seq IN (SELECT seq FROM queue WHERE sid = ? AND seq > ? ORDER BY seq LIMIT ?) RETURNING seq, sid, message_id, bytes`,
    ),
    dropInstanceOldest: p(
      `DELETE FROM queue WHERE seq IN (
         SELECT seq FROM queue WHERE instance_id = ? AND sid NOT IN (SELECT sid FROM dead_sessions) ORDER BY seq LIMIT ?)
       RETURNING seq, sid, message_id, bytes`,
    ),
    // The acknowledged-through watermark (queues.ts, `delivered`): the first live entry after it,
    // what a run of entries counts, and the new value.
    queueHead: p(`SELECT seq FROM queue WHERE sid = ? AND seq > ? ORDER BY seq LIMIT 1`).pluck(),
    countQueuedRange: p(`SELECT count(*), total(bytes) FROM queue WHERE sid = ? AND seq > ? AND seq <= ?`).raw(true),
    setAckedThrough: p(`INSERT INTO queue_acked (sid, through) VALUES (?, ?) ON CONFLICT (sid) DO UPDATE SET through = excluded.through`),
    deleteAcked: p(`DELETE FROM queue_acked WHERE sid = ?`),
    // Acknowledged entries reclaimed, oldest first, a bounded step at a time.
    reclaimAcked: p(
      `DELETE FROM queue WHERE seq IN (SELECT seq FROM queue WHERE sid = ? AND seq <= ? ORDER BY seq LIMIT ?) RETURNING message_id`,
    ).pluck(),
    removeQueued: p(`DELETE FROM queue WHERE seq = ? AND sid = ? RETURNING message_id, bytes`),
    removeQueuedMany: p(
      `DELETE FROM queue WHERE seq IN (SELECT value FROM json_each(?)) AND sid = ? RETURNING message_id, bytes`,
    ).raw(true),
    // A run of consecutive seqs (ranges.ts): exactly those entries, walked in seq order.
    removeQueuedRange: p(`DELETE FROM queue WHERE seq BETWEEN ? AND ? AND sid = ? RETURNING message_id, bytes`).raw(true),
    takeQueued: p(
      `DELETE FROM queue WHERE seq = ? AND sid = ?
       RETURNING message_id, qos, retain, sub_ids, share_group, share_filter, bytes`,
    ),
    readQueue: p(
      `SELECT q.seq, q.message_id, q.qos AS dqos, q.retain AS dretain, q.sub_ids, q.share_group, q.share_filter,
              m.id, m.topic, m.payload, m.qos, m.retain, m.properties, m.expires_at, m.created_at, m.trace_id
       FROM queue q JOIN messages m ON m.id = q.message_id
       WHERE q.sid = ? AND q.seq > ? ORDER BY q.seq LIMIT ?`,
    ),
    // A page as one statement and one row (queue-page.ts): every column of every entry as one
    // JSON text (an array per entry), and every payload and properties blob concatenated into
    // one value. Row by row, each blob became a Buffer of its own and each entry a JS array made
    // by better-sqlite3, which cost the store thread more than the query itself; JSON.parse
    // makes the same arrays several times faster. `||` and group_concat() treat a blob as text
    // without changing a byte (UTF-8 database); the CAST makes the result a blob again. Both
    // aggregates take the rows in the same order (one pass), which the reader checks is seq order.
    readQueuePage: p(
      `SELECT json_group_array(json_array(seq, message_id, dqos, dretain, sub_ids, share_group, share_filter,
                topic, qos, retain, expires_at, created_at, trace_id, length(payload), length(properties))),
              CAST(group_concat(payload || coalesce(properties, x''), '') AS BLOB)
       FROM (SELECT q.seq, q.message_id, q.qos AS dqos, q.retain AS dretain, q.sub_ids, q.share_group, q.share_filter,
                    m.topic, m.qos, m.retain, m.expires_at, m.created_at, m.trace_id, m.payload, m.properties
             FROM queue q JOIN messages m ON m.id = q.message_id
             WHERE q.sid = ? AND q.seq > ? ORDER BY q.seq LIMIT ?)`,
    ).raw(true),
    insertInflight: p(
      `INSERT INTO inflight (sid, packet_id, seq, message_id, qos, retain, sub_ids, share_group, share_filter, released)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
    ),
    hasInflight: p(`SELECT 1 FROM inflight WHERE sid = ? AND packet_id = ?`),
    getInflight: p(`SELECT message_id, released FROM inflight WHERE sid = ? AND packet_id = ?`),
    releaseInflight: p(`UPDATE inflight SET released = 1, message_id = NULL WHERE sid = ? AND packet_id = ?`),
    removeInflight: p(`DELETE FROM inflight WHERE sid = ? AND packet_id = ? RETURNING message_id`),
    addInbound: p(`INSERT OR IGNORE INTO inbound_qos2 (sid, packet_id) VALUES (?, ?)`),
    removeInbound: p(`DELETE FROM inbound_qos2 WHERE sid = ? AND packet_id = ?`),
    getRetained: p(`SELECT message_id FROM retained WHERE topic = ?`),
    putRetained: p(`INSERT OR REPLACE INTO retained (topic, message_id, expires_at) VALUES (?, ?, ?)`),
    deleteRetained: p(`DELETE FROM retained WHERE topic = ? RETURNING message_id`),
    putWill: p(
      `INSERT OR REPLACE INTO wills (client_id, topic, payload, qos, retain, properties, expires_at, publish_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    deleteWill: p(`DELETE FROM wills WHERE client_id = ?`),
    putMeta: p(`INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)`),
    deleteMeta: p(`DELETE FROM meta WHERE key = ?`),
    getMeta: p(`SELECT value FROM meta WHERE key = ?`),
    putRecord: p(`INSERT OR REPLACE INTO records (collection, key, value) VALUES (?, ?, ?)`),
    deleteRecord: p(`DELETE FROM records WHERE collection = ? AND key = ?`),
    getRecord: p(`SELECT value FROM records WHERE collection = ? AND key = ?`),
    // The range bounds the scan; substr keeps the prefix test exact.
    pageRecords: p(
      `SELECT key, value FROM records
       WHERE collection = @collection AND key > @after
         AND (@prefix = '' OR (key >= @prefix AND key < @upper AND substr(key, 1, length(@prefix)) = @prefix))
       ORDER BY key LIMIT @limit`,
    ),
    pageSessions: p(
      `SELECT client_id, sid, instance_id, protocol_version, expiry_interval, disconnected_at
       FROM sessions WHERE client_id > ? ORDER BY client_id LIMIT ?`,
    ),
    subsOf: p(
      `SELECT key, qos, no_local, retain_as_published, retain_handling, subscription_id, share_group, filter
       FROM subscriptions WHERE sid = ? ORDER BY key`,
    ),
    inflightOf: p(
      `SELECT packet_id, seq, message_id, qos, retain, sub_ids, share_group, share_filter, released
       FROM inflight WHERE sid = ? ORDER BY seq`,
    ),
    inboundOf: p(`SELECT packet_id FROM inbound_qos2 WHERE sid = ? ORDER BY packet_id`),
    pageRetained: p(
      `SELECT r.topic AS rtopic, m.id, m.topic, m.payload, m.qos, m.retain, m.properties, m.expires_at, m.created_at
       FROM retained r JOIN messages m ON m.id = r.message_id WHERE r.topic > ? ORDER BY r.topic LIMIT ?`,
    ),
    pageWills: p(
      `SELECT client_id, topic, payload, qos, retain, properties, expires_at, publish_at
       FROM wills WHERE client_id > ? ORDER BY client_id LIMIT ?`,
    ),
    expiredSessions: p(`SELECT client_id FROM sessions WHERE expires_at <= ? ORDER BY expires_at LIMIT ?`),
    reclaimDead: p(`DELETE FROM queue WHERE seq IN (SELECT seq FROM queue WHERE sid = ? LIMIT ?) RETURNING message_id`),
    expiredQueued: p(
      `DELETE FROM queue WHERE seq IN (SELECT seq FROM queue WHERE expires_at > 0 AND expires_at <= ? LIMIT ?)
       RETURNING seq, sid, instance_id, message_id, bytes`,
    ),
    oldestOfInstance: p(`SELECT seq, sid, created_at FROM queue WHERE instance_id = ? ORDER BY seq LIMIT ?`),
    deleteQueuedBySeq: p(`DELETE FROM queue WHERE seq = ? RETURNING message_id, bytes`),
    appendLog: p(`INSERT INTO logs (seq, log, created_at, meta, payload) VALUES (?, ?, ?, ?, ?)`),
    // A run of appends as multi-row INSERTs (logs.ts): one statement step per APPEND_ROWS entries.
    appendLogRows: p(`INSERT INTO logs (seq, log, created_at, meta, payload) VALUES ${Array(APPEND_ROWS).fill('(?, ?, ?, ?, ?)').join(', ')}`),
    removeLog: p(`DELETE FROM logs WHERE seq = ? AND log = ?`),
    removeLogMany: p(`DELETE FROM logs WHERE seq IN (SELECT value FROM json_each(?)) AND log = ?`),
    dropLog: p(`DELETE FROM logs WHERE log = ?`),
    readLog: p(`SELECT seq, created_at, meta, payload FROM logs WHERE log = ? AND seq > ? ORDER BY seq LIMIT ?`),
    getLogEntry: p(`SELECT seq, created_at, meta, payload FROM logs WHERE log = ? AND seq = ?`),
    logSummaries: p(
      `SELECT log, count(*) AS count, sum(length(payload) + length(meta)) AS bytes, min(seq) AS first_seq, max(seq) AS last_seq,
              min(created_at) AS oldest
       FROM logs WHERE log >= ? AND log < ? GROUP BY log ORDER BY log`,
    ),
    expiredRetained: p(`SELECT topic FROM retained WHERE expires_at > 0 AND expires_at <= ? LIMIT ?`),
  };
}
