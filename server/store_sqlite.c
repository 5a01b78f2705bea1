/*
 * store_sqlite.c — the SQLite engine of store.h.
 *
 * WAL journal, synchronous=NORMAL (a commit is durable against process
 * crashes — the kill -9 case — and the WAL is fsynced at checkpoints),
 * versioned migrations in schema_version, every statement prepared once.
 * One connection, used only from the loop thread.
 */
#include "store.h"

#include "cordon.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- migrations: append only; each runs in its own transaction ---------- */
static const char *migrations[] = {
    /* 1: registry, datapoints, violations, outbox, timers, tokens, docs */
    "CREATE TABLE things (name TEXT PRIMARY KEY, attributes TEXT NOT NULL DEFAULT '{}',"
    "  created_at INTEGER NOT NULL, last_report_id INTEGER NOT NULL DEFAULT -1,"
    "  last_report_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE thing_groups (name TEXT PRIMARY KEY, description TEXT NOT NULL DEFAULT '',"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE group_members (group_name TEXT NOT NULL, thing_name TEXT NOT NULL,"
    "  PRIMARY KEY (group_name, thing_name));"
    "CREATE INDEX group_members_thing ON group_members (thing_name);"
    "CREATE TABLE credentials (thing_name TEXT PRIMARY KEY, type TEXT NOT NULL,"
    "  secret TEXT NOT NULL, created_at INTEGER NOT NULL);"
    "CREATE TABLE datapoints (thing_name TEXT NOT NULL, at INTEGER NOT NULL,"
    "  kind INTEGER NOT NULL, report_id INTEGER NOT NULL, body TEXT NOT NULL);"
    "CREATE INDEX datapoints_thing_at ON datapoints (thing_name, at);"
    "CREATE INDEX datapoints_at ON datapoints (at);"
    "CREATE TABLE violations (id TEXT PRIMARY KEY, thing_name TEXT NOT NULL,"
    "  profile TEXT NOT NULL, behavior TEXT NOT NULL, behavior_json TEXT NOT NULL,"
    "  value_json TEXT NOT NULL, state TEXT NOT NULL, suppressed INTEGER NOT NULL,"
    "  started_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, ended_at INTEGER NOT NULL,"
    "  verification TEXT NOT NULL DEFAULT 'UNKNOWN', verification_desc TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX violations_thing ON violations (thing_name, started_at);"
    "CREATE INDEX violations_started ON violations (started_at);"
    "CREATE TABLE violation_events (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  violation_id TEXT NOT NULL, type TEXT NOT NULL, at INTEGER NOT NULL,"
    "  value_json TEXT NOT NULL);"
    "CREATE INDEX violation_events_vid ON violation_events (violation_id, seq);"
    "CREATE TABLE actions (id INTEGER PRIMARY KEY AUTOINCREMENT, violation_id TEXT NOT NULL,"
    "  thing_name TEXT NOT NULL, action TEXT NOT NULL, params TEXT NOT NULL,"
    "  status TEXT NOT NULL, result TEXT NOT NULL, outbox_key TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
    "CREATE INDEX actions_key ON actions (outbox_key);"
    "CREATE INDEX actions_violation ON actions (violation_id);"
    "CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,"
    "  key TEXT NOT NULL UNIQUE, target TEXT NOT NULL, payload TEXT NOT NULL,"
    "  status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_at INTEGER NOT NULL, created_at INTEGER NOT NULL, done_at INTEGER NOT NULL DEFAULT 0,"
    "  last_error TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX outbox_pending ON outbox (status, id);"
    "CREATE TABLE timers (key TEXT PRIMARY KEY, kind TEXT NOT NULL, due_at INTEGER NOT NULL,"
    "  payload TEXT NOT NULL);"
    "CREATE TABLE tokens (id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,"
    "  hash TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL);"
    "CREATE TABLE docs (kind TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL,"
    "  updated_at INTEGER NOT NULL, PRIMARY KEY (kind, name));"
    "CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
    /* 2: thing group attributes (stack thingGroups[].attributes) */
    "ALTER TABLE thing_groups ADD COLUMN attributes TEXT NOT NULL DEFAULT '{}';",
};
#define MIGRATIONS_COUNT ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* ---- prepared statements ------------------------------------------------ */
enum stmt_id {
    S_BEGIN,
    S_COMMIT,
    S_ROLLBACK,
    S_THING_PUT,
    S_THING_DEL,
    S_THING_DEL_MEMBERS,
    S_THING_DEL_CRED,
    S_THING_REPORT,
    S_THINGS_LOAD,
    S_GROUP_PUT,
    S_GROUP_DEL,
    S_GROUP_DEL_MEMBERS,
    S_GROUPS_LOAD,
    S_MEMBER_PUT,
    S_MEMBER_DEL,
    S_MEMBERS_LOAD,
    S_CRED_PUT,
    S_CRED_DEL,
    S_CRED_TYPE,
    S_DP_ADD,
    S_DP_LIST,
    S_DP_PRUNE,
    S_DP_LAST,
    S_VIOL_PUT,
    S_VEVENT_ADD,
    S_VIOL_VERIFY,
    S_VIOL_GET,
    S_VEVENTS,
    S_ACTION_ADD,
    S_ACTION_RESULT,
    S_ACTIONS_BY_VIOL,
    S_ACTIONS_BY_THING,
    S_OUTBOX_ADD,
    S_OUTBOX_DONE,
    S_OUTBOX_FAIL,
    S_OUTBOX_RETRY,
    S_OUTBOX_PENDING,
    S_OUTBOX_DEPTH,
    S_TIMER_PUT,
    S_TIMER_DEL,
    S_TIMERS_LOAD,
    S_TOKEN_ADD,
    S_TOKEN_ROLE,
    S_TOKEN_DEL,
    S_TOKENS_LIST,
    S_DOC_PUT,
    S_DOC_DEL,
    S_DOC_DEL_KIND,
    S_DOC_GET,
    S_DOCS_LIST,
    S_KV_PUT,
    S_KV_GET,
    S_COUNT_
};

#define VIOL_COLS                                                                                  \
    "id, thing_name, profile, behavior, behavior_json, value_json, state, suppressed, "            \
    "started_at, updated_at, ended_at, verification, verification_desc"

static const char *stmt_sql[S_COUNT_] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_THING_PUT] = "INSERT INTO things (name, attributes, created_at) VALUES (?1, ?2, ?3) "
                    "ON CONFLICT (name) DO UPDATE SET attributes = excluded.attributes",
    [S_THING_DEL] = "DELETE FROM things WHERE name = ?1",
    [S_THING_DEL_MEMBERS] = "DELETE FROM group_members WHERE thing_name = ?1",
    [S_THING_DEL_CRED] = "DELETE FROM credentials WHERE thing_name = ?1",
    [S_THING_REPORT] = "UPDATE things SET last_report_id = ?2, last_report_at = ?3 WHERE name = ?1",
    [S_THINGS_LOAD] =
        "SELECT name, attributes, created_at, last_report_id, last_report_at FROM things",
    [S_GROUP_PUT] = "INSERT INTO thing_groups (name, description, created_at, attributes) "
                    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (name) DO UPDATE SET "
                    "description = excluded.description, attributes = excluded.attributes",
    [S_GROUP_DEL] = "DELETE FROM thing_groups WHERE name = ?1",
    [S_GROUP_DEL_MEMBERS] = "DELETE FROM group_members WHERE group_name = ?1",
    [S_GROUPS_LOAD] = "SELECT name, description, created_at, attributes FROM thing_groups",
    [S_MEMBER_PUT] = "INSERT INTO group_members (group_name, thing_name) VALUES (?1, ?2) "
                     "ON CONFLICT DO NOTHING",
    [S_MEMBER_DEL] = "DELETE FROM group_members WHERE group_name = ?1 AND thing_name = ?2",
    [S_MEMBERS_LOAD] = "SELECT group_name, thing_name FROM group_members",
    [S_CRED_PUT] =
        "INSERT INTO credentials (thing_name, type, secret, created_at) "
        "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (thing_name) DO UPDATE SET "
        "type = excluded.type, secret = excluded.secret, created_at = excluded.created_at",
    [S_CRED_DEL] = "DELETE FROM credentials WHERE thing_name = ?1",
    [S_CRED_TYPE] = "SELECT type FROM credentials WHERE thing_name = ?1",
    [S_DP_ADD] = "INSERT INTO datapoints (thing_name, at, kind, report_id, body) "
                 "VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_DP_LIST] = "SELECT thing_name, at, kind, report_id, body FROM datapoints "
                  "WHERE thing_name = ?1 AND at >= ?2 AND at <= ?3 ORDER BY at DESC LIMIT ?4",
    [S_DP_PRUNE] = "DELETE FROM datapoints WHERE at < ?1",
    [S_DP_LAST] = "SELECT thing_name, max(report_id), max(at) FROM datapoints "
                  "WHERE kind = 0 AND at >= ?1 GROUP BY thing_name",
    [S_VIOL_PUT] = "INSERT INTO violations (" VIOL_COLS ") VALUES "
                   "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) "
                   "ON CONFLICT (id) DO UPDATE SET value_json = excluded.value_json, "
                   "state = excluded.state, updated_at = excluded.updated_at, "
                   "ended_at = excluded.ended_at",
    [S_VEVENT_ADD] = "INSERT INTO violation_events (violation_id, type, at, value_json) "
                     "VALUES (?1, ?2, ?3, ?4)",
    [S_VIOL_VERIFY] = "UPDATE violations SET verification = ?2, verification_desc = ?3 "
                      "WHERE id = ?1",
    [S_VIOL_GET] = "SELECT " VIOL_COLS " FROM violations WHERE id = ?1",
    [S_VEVENTS] = "SELECT seq, violation_id, type, at, value_json FROM violation_events "
                  "WHERE violation_id = ?1 ORDER BY seq",
    [S_ACTION_ADD] = "INSERT INTO actions (violation_id, thing_name, action, params, status, "
                     "result, outbox_key, created_at, updated_at) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
    [S_ACTION_RESULT] = "UPDATE actions SET status = ?2, result = ?3, updated_at = ?4 "
                        "WHERE outbox_key = ?1",
    [S_ACTIONS_BY_VIOL] = "SELECT id, violation_id, thing_name, action, params, status, result, "
                          "outbox_key, created_at, updated_at FROM actions "
                          "WHERE violation_id = ?1 ORDER BY id",
    [S_ACTIONS_BY_THING] = "SELECT id, violation_id, thing_name, action, params, status, result, "
                           "outbox_key, created_at, updated_at FROM actions "
                           "WHERE thing_name = ?1 ORDER BY id",
    [S_OUTBOX_ADD] = "INSERT INTO outbox (kind, key, target, payload, attempts, next_at, "
                     "created_at) VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6) ON CONFLICT (key) DO NOTHING",
    [S_OUTBOX_DONE] = "UPDATE outbox SET status = 'done', done_at = ?2 WHERE id = ?1",
    [S_OUTBOX_FAIL] = "UPDATE outbox SET status = 'failed', done_at = ?3, last_error = ?2 "
                      "WHERE id = ?1",
    [S_OUTBOX_RETRY] = "UPDATE outbox SET attempts = ?2, next_at = ?3, last_error = ?4 "
                       "WHERE id = ?1",
    [S_OUTBOX_PENDING] = "SELECT id, kind, key, target, payload, attempts, next_at, created_at "
                         "FROM outbox WHERE status = 'pending' ORDER BY id",
    [S_OUTBOX_DEPTH] = "SELECT count(*) FROM outbox WHERE status = 'pending'",
    [S_TIMER_PUT] = "INSERT INTO timers (key, kind, due_at, payload) VALUES (?1, ?2, ?3, ?4) "
                    "ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, "
                    "due_at = excluded.due_at, payload = excluded.payload",
    [S_TIMER_DEL] = "DELETE FROM timers WHERE key = ?1",
    [S_TIMERS_LOAD] = "SELECT key, kind, due_at, payload FROM timers ORDER BY due_at",
    [S_TOKEN_ADD] = "INSERT INTO tokens (id, name, role, hash, created_at) "
                    "VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_TOKEN_ROLE] = "SELECT role, name FROM tokens WHERE hash = ?1",
    [S_TOKEN_DEL] = "DELETE FROM tokens WHERE id = ?1",
    [S_TOKENS_LIST] = "SELECT id, name, role, created_at FROM tokens ORDER BY created_at",
    [S_DOC_PUT] = "INSERT INTO docs (kind, name, body, updated_at) VALUES (?1, ?2, ?3, ?4) "
                  "ON CONFLICT (kind, name) DO UPDATE SET body = excluded.body, "
                  "updated_at = excluded.updated_at",
    [S_DOC_DEL] = "DELETE FROM docs WHERE kind = ?1 AND name = ?2",
    [S_DOC_DEL_KIND] = "DELETE FROM docs WHERE kind = ?1",
    [S_DOC_GET] = "SELECT kind, name, body FROM docs WHERE kind = ?1 AND name = ?2",
    [S_DOCS_LIST] = "SELECT kind, name, body FROM docs WHERE kind = ?1 ORDER BY name",
    [S_KV_PUT] = "INSERT INTO kv (key, value) VALUES (?1, ?2) "
                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    [S_KV_GET] = "SELECT value FROM kv WHERE key = ?1",
};

struct store {
    sqlite3 *db;
    sqlite3_stmt *stmt[S_COUNT_];
    bool in_txn;
    int version;
};

const char *store_errmsg(struct store *st)
{
    return st && st->db ? sqlite3_errmsg(st->db) : "no store";
}

static int map_rc(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return 0;
    case SQLITE_NOMEM:
        return CORDON_ENOMEM;
    case SQLITE_CONSTRAINT:
        return CORDON_EEXIST;
    case SQLITE_TOOBIG:
        return CORDON_ETOOBIG;
    default:
        return CORDON_ESTATE;
    }
}

/* Prepared statement id, reset and unbound; NULL on failure. */
static sqlite3_stmt *stmt(struct store *st, enum stmt_id id)
{
    sqlite3_stmt *s = st->stmt[id];
    if (!s) {
        if (sqlite3_prepare_v3(st->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) !=
            SQLITE_OK)
            return NULL;
        st->stmt[id] = s;
    } else {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
    }
    return s;
}

static void bt(sqlite3_stmt *s, int i, const char *v)
{
    sqlite3_bind_text(s, i, v ? v : "", -1, SQLITE_STATIC);
}

static void bi(sqlite3_stmt *s, int i, int64_t v)
{
    sqlite3_bind_int64(s, i, v);
}

static const char *ct(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return t ? (const char *)t : "";
}

/* Step a statement that returns no rows; reset it afterwards. */
static int step_done(struct store *st, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    int out = (rc == SQLITE_DONE || rc == SQLITE_ROW) ? 0 : map_rc(rc);
    (void)st;
    sqlite3_reset(s);
    return out;
}

/* Writes open the turn's transaction first. */
static sqlite3_stmt *wstmt(struct store *st, enum stmt_id id)
{
    if (store_begin(st))
        return NULL;
    return stmt(st, id);
}

int store_begin(struct store *st)
{
    sqlite3_stmt *s;
    if (st->in_txn)
        return 0;
    s = stmt(st, S_BEGIN);
    if (!s || step_done(st, s))
        return CORDON_ESTATE;
    st->in_txn = true;
    return 0;
}

int store_commit(struct store *st)
{
    sqlite3_stmt *s;
    int rc;
    if (!st->in_txn)
        return 0;
    s = stmt(st, S_COMMIT);
    if (!s)
        return CORDON_ESTATE;
    rc = step_done(st, s);
    if (rc) {
        /* a failed COMMIT leaves the transaction open: roll it back */
        store_rollback(st);
        return rc;
    }
    st->in_txn = false;
    return 0;
}

int store_rollback(struct store *st)
{
    sqlite3_stmt *s;
    if (!st->in_txn)
        return 0;
    st->in_txn = false;
    s = stmt(st, S_ROLLBACK);
    return s ? step_done(st, s) : CORDON_ESTATE;
}

bool store_in_txn(const struct store *st)
{
    return st->in_txn;
}

int store_schema_version(struct store *st)
{
    return st->version;
}

static int exec(struct store *st, const char *sql)
{
    return sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : CORDON_ESTATE;
}

static int migrate(struct store *st, char *err, size_t errlen)
{
    sqlite3_stmt *s = NULL;
    int version = 0;

    if (exec(st, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"))
        goto fail;
    if (sqlite3_prepare_v2(st->db, "SELECT max(version) FROM schema_version", -1, &s, NULL))
        goto fail;
    if (sqlite3_step(s) == SQLITE_ROW)
        version = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (version > MIGRATIONS_COUNT) {
        snprintf(err, errlen, "store schema version %d is newer than this cordond (%d)", version,
                 MIGRATIONS_COUNT);
        return CORDON_EUNSUPPORTED;
    }
    for (int v = version + 1; v <= MIGRATIONS_COUNT; v++) {
        char sql[96];
        if (exec(st, "BEGIN IMMEDIATE"))
            goto fail;
        if (exec(st, migrations[v - 1])) {
            snprintf(err, errlen, "migration %d: %s", v, sqlite3_errmsg(st->db));
            exec(st, "ROLLBACK");
            return CORDON_ESTATE;
        }
        snprintf(sql, sizeof(sql), "INSERT INTO schema_version (version) VALUES (%d)", v);
        if (exec(st, sql) || exec(st, "COMMIT")) {
            exec(st, "ROLLBACK");
            goto fail;
        }
    }
    st->version = MIGRATIONS_COUNT;
    return 0;
fail:
    snprintf(err, errlen, "migrations: %s", sqlite3_errmsg(st->db));
    return CORDON_ESTATE;
}

int store_open(struct store **out, const char *path, char *err, size_t errlen)
{
    struct store *st;
    int rc;

    *out = NULL;
    st = calloc(1, sizeof(*st));
    if (!st)
        return CORDON_ENOMEM;
    if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, st->db ? sqlite3_errmsg(st->db) : "cannot open");
        rc = CORDON_ESTATE;
        goto fail;
    }
    sqlite3_busy_timeout(st->db, 5000);
    if (exec(st, "PRAGMA journal_mode=WAL") || exec(st, "PRAGMA synchronous=NORMAL") ||
        exec(st, "PRAGMA foreign_keys=OFF") || exec(st, "PRAGMA temp_store=MEMORY") ||
        exec(st, "PRAGMA cache_size=-8192") || exec(st, "PRAGMA wal_autocheckpoint=0")) {
        snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(st->db));
        rc = CORDON_ESTATE;
        goto fail;
    }
    rc = migrate(st, err, errlen);
    if (rc)
        goto fail;
    *out = st;
    return 0;
fail:
    store_close(st);
    return rc;
}

int store_maintain(const char *path)
{
    sqlite3 *db = NULL;
    int rc = CORDON_ESTATE;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) ==
        SQLITE_OK) {
        sqlite3_busy_timeout(db, 1000);
        if (sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL) == SQLITE_OK)
            rc = 0;
    }
    sqlite3_close(db);
    return rc;
}

void store_close(struct store *st)
{
    if (!st)
        return;
    if (st->db) {
        if (st->in_txn)
            store_commit(st);
        for (int i = 0; i < S_COUNT_; i++)
            sqlite3_finalize(st->stmt[i]);
        sqlite3_close(st->db);
    }
    free(st);
}

/* ---- things -------------------------------------------------------------- */

int store_thing_put(struct store *st, const char *name, const char *attributes, int64_t created_at)
{
    sqlite3_stmt *s = wstmt(st, S_THING_PUT);
    if (!s)
        return CORDON_ESTATE;
    bt(s, 1, name);
    bt(s, 2, attributes && *attributes ? attributes : "{}");
    bi(s, 3, created_at);
    return step_done(st, s);
}

int store_thing_delete(struct store *st, const char *name)
{
    static const enum stmt_id ids[] = { S_THING_DEL, S_THING_DEL_MEMBERS, S_THING_DEL_CRED };
    for (size_t i = 0; i < 3; i++) {
        sqlite3_stmt *s = wstmt(st, ids[i]);
        int rc;
        if (!s)
            return CORDON_ESTATE;
        bt(s, 1, name);
        rc = step_done(st, s);
        if (rc)
            return rc;
        if (i == 0 && sqlite3_changes(st->db) == 0)
            return CORDON_ENOTFOUND;
    }
    return 0;
}

int store_thing_report(struct store *st, const char *name, int64_t report_id, int64_t at)
{
    sqlite3_stmt *s = wstmt(st, S_THING_REPORT);
    if (!s)
        return CORDON_ESTATE;
    bt(s, 1, name);
    bi(s, 2, report_id);
    bi(s, 3, at);
    return step_done(st, s);
}

int store_things_load(struct store *st, store_thing_cb cb, void *ctx)
{
    sqlite3_stmt *s = stmt(st, S_THINGS_LOAD);
    int rc = 0;
    if (!s)
        return CORDON_ESTATE;
    while (!rc && sqlite3_step(s) == SQLITE_ROW) {
        struct store_thing t = { ct(s, 0), ct(s, 1), sqlite3_column_int64(s, 2),
                                 sqlite3_column_int64(s, 3), sqlite3_column_int64(s, 4) };
        rc = cb(ctx, &t);
    }
    sqlite3_reset(s);
    return rc;
}

/* ---- groups ---------------------------------------------------------------- */

int store_group_put(struct store *st, const char *name, const char *description,
                    const char *attributes, int64_t created_at)
{
    sqlite3_stmt *s = wstmt(st, S_GROUP_PUT);
    if (!s)
        return CORDON_ESTATE;
    bt(s, 1, name);
    bt(s, 2, description);
    bi(s, 3, created_at);
    bt(s, 4, attributes && *attributes ? attributes : "{}");
    return step_done(st, s);
}

int store_group_delete(struct store *st, const char *name)
{
    sqlite3_stmt *s = wstmt(st, S_GROUP_DEL);
    int rc;
    if (!s)
        return CORDON_ESTATE;
    bt(s, 1, name);
    rc = step_done(st, s);
    if (rc)
        return rc;
    if (sqlite3_changes(st->db) == 0)
        return CORDON_ENOTFOUND;
    s = wstmt(st, S_GROUP_DEL_MEMBERS);
    if (!s)
        return CORDON_ESTATE;
    bt(s, 1, name);
    return step_done(st, s);
}

int store_groups_load(struct store *st, store_group_cb cb, void *ctx)
{
    sqlite3_stmt *s = stmt(st, S_GROUPS_LOAD);
    int rc = 0;
    if (!s)
        return CORDON_ESTATE;
    while (!rc && sqlite3_step(s) == SQLITE_ROW)
        rc = cb(ctx, ct(s, 0), ct(s, 1), ct(s, 3), sqlite3_column_int64(s, 2));
    sqlite3_reset(s);
    return rc;
}

int store_member_put(struct store *st, const char *group, const char *thing)
{
    sqlite3_stmt *s = wstmt(st, S_MEMBER_PUT);
    if (!s)
        return CORDON_ESTATE;
    bt(s, 1, group);
    bt(s, 2, thing);
    return step_done(st, s);
}

int store_member_delete(struct store *st, const char *group, const char *thing)
{
    sqlite3_stmt *s = wstmt(st, S_MEMBER_DEL);
    if (!s)
        return CORDON_ESTATE;
    bt(s, 1, group);
    bt(s, 2, thing);
    return step_done(st, s);
}

int store_members_load(struct store *st, store_member_cb cb, void *ctx)
{
    sqlite3_stmt *s = stmt(st, S_MEMBERS_LOAD);
    int rc = 0;
    if (!s)
        return CORDON_ESTATE;
    while (!rc && sqlite3_step(s) == SQLITE_ROW)
        rc = cb(ctx, ct(s, 0), ct(s, 1));
    sqlite3_reset(s);
    return rc;
}

/* ---- credentials ------------------------------------------------------------ */

int store_credential_put(struct store *st, const char *thing, const char *type, const char *secret,
                         int64_t created_at)
{
    sqlite3_stmt *s = wstmt(st, S_CRED_PUT);
    if (!s)
        return CORDON_ESTATE;
    bt(s, 1, thing);
    bt(s, 2, type);
    bt(s, 3, secret);
    bi(s, 4, created_at);
    return step_done(st, s);
}

int store_credential_delete(struct store *st, const char *thing)
{
    sqlite3_stmt *s = wstmt(st, S_CRED_DEL);
    if (!s)
        return CORDON_ESTATE;
    bt(s, 1, thing);
    return step_done(st, s);
}

int store_credential_type(struct store *st, const char *thing, char *type, size_t typelen)
{
    sqlite3_stmt *s = stmt(st, S_CRED_TYPE);
    int rc = CORDON_ENOTFOUND;
    if (!s)
        return CORDON_ESTATE;
    bt(s, 1, thing);
    if (sqlite3_step(s) == SQLITE_ROW) {
        snprintf(type, typelen, "%s", ct(s, 0));
        rc = 0;
    }
    sqlite3_reset(s);
    return rc;
}

/* ---- datapoints ---------------------------------------------------------------- */

int store_datapoint_add(struct store *st, const struct store_datapoint *d)
{
    sqlite3_stmt *s = wstmt(st, S_DP_ADD);
    if (!s)
        return CORDON_ESTATE;
    bt(s, 1, d->thing);
    bi(s, 2, d->at);
    bi(s, 3, d->kind);
    bi(s, 4, d->report_id);
    sqlite3_bind_text(s, 5, d->body, (int)d->body_len, SQLITE_STATIC);
    return step_done(st, s);
}

int store_datapoints_list(struct store *st, const char *thing, int64_t since, int64_t until,
                          int limit, store_datapoint_cb cb, void *ctx)
{
    sqlite3_stmt *s = stmt(st, S_DP_LIST);
    int rc = 0;
    if (!s)
        return CORDON_ESTATE;
    bt(s, 1, thing);
    bi(s, 2, since);
    bi(s, 3, until > 0 ? until : INT64_MAX);
    bi(s, 4, limit > 0 ? limit : 1000);
    while (!rc && sqlite3_step(s) == SQLITE_ROW) {
        struct store_datapoint d = { ct(s, 0),
                                     sqlite3_column_int64(s, 1),
                                     sqlite3_column_int(s, 2),
                                     sqlite3_column_int64(s, 3),
                                     ct(s, 4),
                                     (size_t)sqlite3_column_bytes(s, 4) };
        rc = cb(ctx, &d);
    }
    sqlite3_reset(s);
    return rc;
}

int store_last_reports(struct store *st, int64_t since, store_last_report_cb cb, void *ctx)
{
    sqlite3_stmt *s = stmt(st, S_DP_LAST);
    int rc = 0;
    if (!s)
        return CORDON_ESTATE;
    bi(s, 1, since);
    while (!rc && sqlite3_step(s) == SQLITE_ROW)
        rc = cb(ctx, ct(s, 0), sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 2));
    sqlite3_reset(s);
    return rc;
}

int store_datapoints_prune(struct store *st, int64_t before, int64_t *deleted)
{
    sqlite3_stmt *s = wstmt(st, S_DP_PRUNE);
    int rc;
    if (!s)
        return CORDON_ESTATE;
    bi(s, 1, before);
    rc = step_done(st, s);
    if (deleted)
        *deleted = rc ? 0 : sqlite3_changes(st->db);
    return rc;
}

/* ---- violations ------------------------------------------------------------------ */

int store_violation_put(struct store *st, const struct store_violation *v)
{
    sqlite3_stmt *s = wstmt(st, S_VIOL_PUT);
    if (!s)
        return CORDON_ESTATE;
    bt(s, 1, v->id);
    bt(s, 2, v->thing);
    bt(s, 3, v->profile);
    bt(s, 4, v->behavior);
    bt(s, 5, v->behavior_json);
    bt(s, 6, v->value_json);
    bt(s, 7, v->state);
    bi(s, 8, v->suppressed);
    bi(s, 9, v->started_at);
    bi(s, 10, v->updated_at);
    bi(s, 11, v->ended_at);
    bt(s, 12, v->verification && *v->verification ? v->verification : "UNKNOWN");
    bt(s, 13, v->verification_desc);
    return step_done(st, s);
}

int store_violation_event_add(struct store *st, const char *violation_id, const char *type,
                              int64_t at, const char *value_json)
{
    sqlite3_stmt *s = wstmt(st, S_VEVENT_ADD);
    if (!s)
        return CORDON_ESTATE;
    bt(s, 1, violation_id);
    bt(s, 2, type);
    bi(s, 3, at);
    bt(s, 4, value_json && *value_json ? value_json : "{}");
    return step_done(st, s);
}

int store_violation_verify(struct store *st, const char *id, const char *state, const char *desc)
{
    sqlite3_stmt *s = wstmt(st, S_VIOL_VERIFY);
    int rc;
    if (!s)
        return CORDON_ESTATE;
    bt(s, 1, id);
    bt(s, 2, state);
    bt(s, 3, desc);
    rc = step_done(st, s);
    if (!rc && sqlite3_changes(st->db) == 0)
        rc = CORDON_ENOTFOUND;
    return rc;
}

static void viol_row(sqlite3_stmt *s, struct store_violation *v)
{
    v->id = ct(s, 0);
    v->thing = ct(s, 1);
    v->profile = ct(s, 2);
    v->behavior = ct(s, 3);
    v->behavior_json = ct(s, 4);
    v->value_json = ct(s, 5);
    v->state = ct(s, 6);
    v->suppressed = sqlite3_column_int(s, 7);
    v->started_at = sqlite3_column_int64(s, 8);
    v->updated_at = sqlite3_column_int64(s, 9);
    v->ended_at = sqlite3_column_int64(s, 10);
    v->verification = ct(s, 11);
    v->verification_desc = ct(s, 12);
}

/* The filter combination varies per call, so this one statement is built each time. */
int store_violations_list(struct store *st, const struct store_violation_filter *f,
                          store_violation_cb cb, void *ctx)
{
    char sql[1024];
    size_t n;
    sqlite3_stmt *s = NULL;
    int rc = 0, i = 1;

    n = (size_t)snprintf(sql, sizeof(sql), "SELECT " VIOL_COLS " FROM violations WHERE 1=1");
    if (f->active == 1)
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, " AND state = 'active'");
    else if (f->active == 0)
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, " AND state <> 'active'");
    if (f->thing)
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, " AND thing_name = ?%d", i++);
    if (f->profile)
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, " AND profile = ?%d", i++);
    if (f->behavior)
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, " AND behavior = ?%d", i++);
    if (f->verification)
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, " AND verification = ?%d", i++);
    if (f->since)
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, " AND updated_at >= ?%d", i++);
    if (f->until)
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, " AND started_at <= ?%d", i++);
    snprintf(sql + n, sizeof(sql) - n, " ORDER BY started_at DESC, id LIMIT %d",
             f->limit > 0 ? f->limit : 1000);
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return CORDON_ESTATE;
    i = 1;
    if (f->thing)
        bt(s, i++, f->thing);
    if (f->profile)
        bt(s, i++, f->profile);
    if (f->behavior)
        bt(s, i++, f->behavior);
    if (f->verification)
        bt(s, i++, f->verification);
    if (f->since)
        bi(s, i++, f->since);
    if (f->until)
        bi(s, i++, f->until);
    while (!rc && sqlite3_step(s) == SQLITE_ROW) {
        struct store_violation v;
        viol_row(s, &v);
        rc = cb(ctx, &v);
    }
    sqlite3_finalize(s);
    return rc;
}

int store_violation_get(struct store *st, const char *id, store_violation_cb cb, void *ctx)
{
    sqlite3_stmt *s = stmt(st, S_VIOL_GET);
    int rc = CORDON_ENOTFOUND;
    if (!s)
        return CORDON_ESTATE;
    bt(s, 1, id);
    if (sqlite3_step(s) == SQLITE_ROW) {
        struct store_violation v;
        viol_row(s, &v);
        rc = cb(ctx, &v);
    }
    sqlite3_reset(s);
    return rc;
}

int store_violation_events(struct store *st, const char *id, store_vevent_cb cb, void *ctx)
{
    sqlite3_stmt *s = stmt(st, S_VEVENTS);
    int rc = 0;
    if (!s)
        return CORDON_ESTATE;
    bt(s, 1, id);
    while (!rc && sqlite3_step(s) == SQLITE_ROW) {
        struct store_violation_event e = { sqlite3_column_int64(s, 0), ct(s, 1), ct(s, 2),
                                           sqlite3_column_int64(s, 3), ct(s, 4) };
        rc = cb(ctx, &e);
    }
    sqlite3_reset(s);
    return rc;
}

/* ---- actions ------------------------------------------------------------------------ */

int store_action_add(struct store *st, const struct store_action *a, int64_t *id)
{
    sqlite3_stmt *s = wstmt(st, S_ACTION_ADD);
    int rc;
    if (!s)
        return CORDON_ESTATE;
    bt(s, 1, a->violation_id);
    bt(s, 2, a->thing);
    bt(s, 3, a->action);
    bt(s, 4, a->params && *a->params ? a->params : "{}");
    bt(s, 5, a->status);
    bt(s, 6, a->result && *a->result ? a->result : "null");
    bt(s, 7, a->key);
    bi(s, 8, a->created_at);
    rc = step_done(st, s);
    if (!rc && id)
        *id = sqlite3_last_insert_rowid(st->db);
    return rc;
}

int store_action_result(struct store *st, const char *key, const char *status, const char *result,
                        int64_t at)
{
    sqlite3_stmt *s = wstmt(st, S_ACTION_RESULT);
    int rc;
    if (!s)
        return CORDON_ESTATE;
    bt(s, 1, key);
    bt(s, 2, status);
    bt(s, 3, result && *result ? result : "null");
    bi(s, 4, at);
    rc = step_done(st, s);
    if (!rc && sqlite3_changes(st->db) == 0)
        rc = CORDON_ENOTFOUND;
    return rc;
}

int store_actions_list(struct store *st, const char *violation_id, const char *thing,
                       store_action_cb cb, void *ctx)
{
    sqlite3_stmt *s = stmt(st, violation_id ? S_ACTIONS_BY_VIOL : S_ACTIONS_BY_THING);
    int rc = 0;
    if (!s)
        return CORDON_ESTATE;
    bt(s, 1, violation_id ? violation_id : thing);
    while (!rc && sqlite3_step(s) == SQLITE_ROW) {
        struct store_action a = { sqlite3_column_int64(s, 0),
                                  ct(s, 1),
                                  ct(s, 2),
                                  ct(s, 3),
                                  ct(s, 4),
                                  ct(s, 5),
                                  ct(s, 6),
                                  ct(s, 7),
                                  sqlite3_column_int64(s, 8),
                                  sqlite3_column_int64(s, 9) };
        rc = cb(ctx, &a);
    }
    sqlite3_reset(s);
    return rc;
}

/* ---- outbox ---------------------------------------------------------------------------- */

int store_outbox_add(struct store *st, const struct store_outbox *o, int64_t *id)
{
    sqlite3_stmt *s = wstmt(st, S_OUTBOX_ADD);
    int rc;
    if (!s)
        return CORDON_ESTATE;
    bt(s, 1, o->kind);
    bt(s, 2, o->key);
    bt(s, 3, o->target);
    sqlite3_bind_text(s, 4, o->payload ? o->payload : "", o->payload ? (int)o->payload_len : 0,
                      SQLITE_STATIC);
    bi(s, 5, o->next_at);
    bi(s, 6, o->created_at);
    rc = step_done(st, s);
    if (rc)
        return rc;
    if (sqlite3_changes(st->db) == 0)
        return CORDON_EEXIST;
    if (id)
        *id = sqlite3_last_insert_rowid(st->db);
    return 0;
}

int store_outbox_done(struct store *st, int64_t id, int64_t at)
{
    sqlite3_stmt *s = wstmt(st, S_OUTBOX_DONE);
    if (!s)
        return CORDON_ESTATE;
    bi(s, 1, id);
    bi(s, 2, at);
    return step_done(st, s);
}

int store_outbox_fail(struct store *st, int64_t id, const char *error, int64_t at)
{
    sqlite3_stmt *s = wstmt(st, S_OUTBOX_FAIL);
    if (!s)
        return CORDON_ESTATE;
    bi(s, 1, id);
    bt(s, 2, error);
    bi(s, 3, at);
    return step_done(st, s);
}

int store_outbox_retry(struct store *st, int64_t id, int attempts, int64_t next_at,
                       const char *error)
{
    sqlite3_stmt *s = wstmt(st, S_OUTBOX_RETRY);
    if (!s)
        return CORDON_ESTATE;
    bi(s, 1, id);
    bi(s, 2, attempts);
    bi(s, 3, next_at);
    bt(s, 4, error);
    return step_done(st, s);
}

int store_outbox_pending(struct store *st, store_outbox_cb cb, void *ctx)
{
    sqlite3_stmt *s = stmt(st, S_OUTBOX_PENDING);
    int rc = 0;
    if (!s)
        return CORDON_ESTATE;
    while (!rc && sqlite3_step(s) == SQLITE_ROW) {
        struct store_outbox o = { sqlite3_column_int64(s, 0),
                                  ct(s, 1),
                                  ct(s, 2),
                                  ct(s, 3),
                                  ct(s, 4),
                                  (size_t)sqlite3_column_bytes(s, 4),
                                  sqlite3_column_int(s, 5),
                                  sqlite3_column_int64(s, 6),
                                  sqlite3_column_int64(s, 7) };
        rc = cb(ctx, &o);
    }
    sqlite3_reset(s);
    return rc;
}

int store_outbox_depth(struct store *st, int64_t *n)
{
    sqlite3_stmt *s = stmt(st, S_OUTBOX_DEPTH);
    *n = 0;
    if (!s)
        return CORDON_ESTATE;
    if (sqlite3_step(s) == SQLITE_ROW)
        *n = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return 0;
}

/* ---- timers ------------------------------------------------------------------------------ */

int store_timer_put(struct store *st, const char *key, const char *kind, int64_t due_at,
                    const char *payload)
{
    sqlite3_stmt *s = wstmt(st, S_TIMER_PUT);
    if (!s)
        return CORDON_ESTATE;
    bt(s, 1, key);
    bt(s, 2, kind);
    bi(s, 3, due_at);
    bt(s, 4, payload);
    return step_done(st, s);
}

int store_timer_delete(struct store *st, const char *key)
{
    sqlite3_stmt *s = wstmt(st, S_TIMER_DEL);
    if (!s)
        return CORDON_ESTATE;
    bt(s, 1, key);
    return step_done(st, s);
}

int store_timers_load(struct store *st, store_timer_cb cb, void *ctx)
{
    sqlite3_stmt *s = stmt(st, S_TIMERS_LOAD);
    int rc = 0;
    if (!s)
        return CORDON_ESTATE;
    while (!rc && sqlite3_step(s) == SQLITE_ROW)
        rc = cb(ctx, ct(s, 0), ct(s, 1), sqlite3_column_int64(s, 2), ct(s, 3));
    sqlite3_reset(s);
    return rc;
}

/* ---- tokens -------------------------------------------------------------------------------- */

int store_token_add(struct store *st, const char *id, const char *name, const char *role,
                    const char *hash, int64_t created_at)
{
    sqlite3_stmt *s = wstmt(st, S_TOKEN_ADD);
    if (!s)
        return CORDON_ESTATE;
    bt(s, 1, id);
    bt(s, 2, name);
    bt(s, 3, role);
    bt(s, 4, hash);
    bi(s, 5, created_at);
    return step_done(st, s);
}

int store_token_lookup(struct store *st, const char *hash, char *role, size_t rolelen, char *name,
                       size_t namelen)
{
    sqlite3_stmt *s = stmt(st, S_TOKEN_ROLE);
    int rc = CORDON_ENOTFOUND;
    if (!s)
        return CORDON_ESTATE;
    bt(s, 1, hash);
    if (sqlite3_step(s) == SQLITE_ROW) {
        snprintf(role, rolelen, "%s", ct(s, 0));
        if (name && namelen)
            snprintf(name, namelen, "%s", ct(s, 1));
        rc = 0;
    }
    sqlite3_reset(s);
    return rc;
}

int store_token_role(struct store *st, const char *hash, char *role, size_t rolelen)
{
    return store_token_lookup(st, hash, role, rolelen, NULL, 0);
}

int store_token_delete(struct store *st, const char *id)
{
    sqlite3_stmt *s = wstmt(st, S_TOKEN_DEL);
    int rc;
    if (!s)
        return CORDON_ESTATE;
    bt(s, 1, id);
    rc = step_done(st, s);
    if (!rc && sqlite3_changes(st->db) == 0)
        rc = CORDON_ENOTFOUND;
    return rc;
}

int store_tokens_list(struct store *st, store_token_cb cb, void *ctx)
{
    sqlite3_stmt *s = stmt(st, S_TOKENS_LIST);
    int rc = 0;
    if (!s)
        return CORDON_ESTATE;
    while (!rc && sqlite3_step(s) == SQLITE_ROW)
        rc = cb(ctx, ct(s, 0), ct(s, 1), ct(s, 2), sqlite3_column_int64(s, 3));
    sqlite3_reset(s);
    return rc;
}

/* ---- docs ---------------------------------------------------------------------------------- */

int store_doc_put(struct store *st, const char *kind, const char *name, const char *body,
                  int64_t at)
{
    sqlite3_stmt *s = wstmt(st, S_DOC_PUT);
    if (!s)
        return CORDON_ESTATE;
    bt(s, 1, kind);
    bt(s, 2, name);
    bt(s, 3, body);
    bi(s, 4, at);
    return step_done(st, s);
}

int store_doc_delete(struct store *st, const char *kind, const char *name)
{
    sqlite3_stmt *s = wstmt(st, S_DOC_DEL);
    int rc;
    if (!s)
        return CORDON_ESTATE;
    bt(s, 1, kind);
    bt(s, 2, name);
    rc = step_done(st, s);
    if (!rc && sqlite3_changes(st->db) == 0)
        rc = CORDON_ENOTFOUND;
    return rc;
}

int store_doc_delete_kind(struct store *st, const char *kind)
{
    sqlite3_stmt *s = wstmt(st, S_DOC_DEL_KIND);
    if (!s)
        return CORDON_ESTATE;
    bt(s, 1, kind);
    return step_done(st, s);
}

int store_doc_get(struct store *st, const char *kind, const char *name, store_doc_cb cb, void *ctx)
{
    sqlite3_stmt *s = stmt(st, S_DOC_GET);
    int rc = CORDON_ENOTFOUND;
    if (!s)
        return CORDON_ESTATE;
    bt(s, 1, kind);
    bt(s, 2, name);
    if (sqlite3_step(s) == SQLITE_ROW)
        rc = cb(ctx, ct(s, 0), ct(s, 1), ct(s, 2));
    sqlite3_reset(s);
    return rc;
}

int store_docs_list(struct store *st, const char *kind, store_doc_cb cb, void *ctx)
{
    sqlite3_stmt *s = stmt(st, S_DOCS_LIST);
    int rc = 0;
    if (!s)
        return CORDON_ESTATE;
    bt(s, 1, kind);
    while (!rc && sqlite3_step(s) == SQLITE_ROW)
        rc = cb(ctx, ct(s, 0), ct(s, 1), ct(s, 2));
    sqlite3_reset(s);
    return rc;
}

/* ---- kv ---------------------------------------------------------------------------------- */

int store_kv_put(struct store *st, const char *key, const char *value)
{
    sqlite3_stmt *s = wstmt(st, S_KV_PUT);
    if (!s)
        return CORDON_ESTATE;
    bt(s, 1, key);
    bt(s, 2, value);
    return step_done(st, s);
}

int store_kv_get(struct store *st, const char *key, char *value, size_t valuelen)
{
    sqlite3_stmt *s = stmt(st, S_KV_GET);
    int rc = CORDON_ENOTFOUND;
    if (!s)
        return CORDON_ESTATE;
    bt(s, 1, key);
    if (sqlite3_step(s) == SQLITE_ROW) {
        snprintf(value, valuelen, "%s", ct(s, 0));
        rc = 0;
    }
    sqlite3_reset(s);
    return rc;
}
