/// The PostgreSQL schema's versions, applied in order and recorded in `casehub_migrations`.
/// Never edit a shipped migration: add the next one.
///
/// The tables match SQLite's (``SQLiteStore/migrator``) column for column, so the shared
/// commands run on both: integers are `BIGINT`, flags are 0 and 1, JSON is canonical text.
enum PostgresSchema {
    struct Migration {
        let id: String
        /// One statement each: the extended query protocol runs one at a time.
        let statements: [String]
    }

    static let migrations: [Migration] = [
        Migration(
            id: "v1-casehub",
            statements: [
                """
                CREATE TABLE tokens (
                    id TEXT PRIMARY KEY,
                    hash TEXT NOT NULL UNIQUE,
                    role TEXT NOT NULL,
                    name TEXT NOT NULL,
                    created_at TEXT NOT NULL,
                    revoked_at TEXT
                )
                """,
                """
                CREATE TABLE cases (
                    id TEXT PRIMARY KEY,
                    mrn TEXT NOT NULL,
                    patient TEXT NOT NULL,
                    payer TEXT NOT NULL,
                    status TEXT NOT NULL,
                    created_at TEXT NOT NULL,
                    closed_at TEXT,
                    log_seq BIGINT NOT NULL,
                    log_hash TEXT NOT NULL
                )
                """,
                "CREATE INDEX cases_by_status ON cases(status, id)",
                """
                CREATE TABLE participants (
                    id TEXT PRIMARY KEY,
                    case_id TEXT NOT NULL REFERENCES cases(id),
                    token_id TEXT NOT NULL REFERENCES tokens(id),
                    role TEXT NOT NULL,
                    name TEXT NOT NULL,
                    email TEXT,
                    locale TEXT NOT NULL,
                    created_at TEXT NOT NULL,
                    email_enabled BIGINT NOT NULL DEFAULT 1,
                    quiet_hours TEXT
                )
                """,
                "CREATE INDEX participants_by_token ON participants(token_id, case_id)",
                "CREATE INDEX participants_by_case ON participants(case_id)",
                """
                CREATE TABLE messages (
                    id TEXT PRIMARY KEY,
                    case_id TEXT NOT NULL REFERENCES cases(id),
                    thread TEXT NOT NULL,
                    seq BIGINT NOT NULL,
                    author_id TEXT NOT NULL,
                    author_role TEXT NOT NULL,
                    author_name TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    body TEXT NOT NULL,
                    data TEXT NOT NULL,
                    reply_to TEXT,
                    relayed_from TEXT,
                    relay_note TEXT,
                    priority TEXT NOT NULL,
                    requires_ack BIGINT NOT NULL,
                    acks TEXT NOT NULL,
                    created_at TEXT NOT NULL,
                    edited_at TEXT,
                    redacted BIGINT NOT NULL DEFAULT 0,
                    rendered TEXT NOT NULL,
                    "authorization" TEXT
                )
                """,
                "CREATE UNIQUE INDEX messages_by_thread ON messages(case_id, thread, seq)",
                "CREATE INDEX messages_by_origin ON messages(case_id, relayed_from)",
                """
                CREATE TABLE log_entries (
                    case_id TEXT NOT NULL REFERENCES cases(id),
                    seq BIGINT NOT NULL,
                    at TEXT NOT NULL,
                    type TEXT NOT NULL,
                    thread TEXT,
                    parent_seq BIGINT,
                    actor TEXT NOT NULL,
                    data TEXT NOT NULL,
                    content TEXT,
                    hash TEXT NOT NULL,
                    prev_hash TEXT NOT NULL,
                    PRIMARY KEY (case_id, seq)
                )
                """,
                """
                CREATE TABLE idempotency_keys (
                    token_id TEXT NOT NULL,
                    key TEXT NOT NULL,
                    message_id TEXT NOT NULL,
                    created_ms BIGINT NOT NULL,
                    PRIMARY KEY (token_id, key)
                )
                """,
                "CREATE INDEX idempotency_keys_by_age ON idempotency_keys(created_ms)",
                """
                CREATE TABLE read_markers (
                    reader_id TEXT NOT NULL,
                    case_id TEXT NOT NULL,
                    thread TEXT NOT NULL,
                    up_to_seq BIGINT NOT NULL,
                    PRIMARY KEY (reader_id, case_id, thread)
                )
                """,
                """
                CREATE TABLE endpoints (
                    id TEXT PRIMARY KEY,
                    url TEXT NOT NULL,
                    description TEXT NOT NULL,
                    events TEXT NOT NULL,
                    roles TEXT NOT NULL,
                    include_text BIGINT NOT NULL,
                    enabled BIGINT NOT NULL,
                    disabled_reason TEXT,
                    secret TEXT NOT NULL,
                    previous_secret TEXT,
                    previous_secret_until_ms BIGINT,
                    failing_since_ms BIGINT,
                    created_at TEXT NOT NULL
                )
                """,
                """
                CREATE TABLE deliveries (
                    id TEXT PRIMARY KEY,
                    event_id TEXT NOT NULL,
                    case_id TEXT NOT NULL REFERENCES cases(id),
                    event_seq BIGINT NOT NULL,
                    event_type TEXT NOT NULL,
                    thread TEXT,
                    channel TEXT NOT NULL,
                    endpoint_id TEXT REFERENCES endpoints(id),
                    participant_id TEXT REFERENCES participants(id),
                    target TEXT NOT NULL,
                    status TEXT NOT NULL,
                    attempts TEXT NOT NULL,
                    attempt_count BIGINT NOT NULL,
                    schedule_base BIGINT NOT NULL,
                    next_attempt_ms BIGINT,
                    lease_until_ms BIGINT,
                    lease_owner TEXT,
                    created_at TEXT NOT NULL,
                    routed_by TEXT
                )
                """,
                "CREATE INDEX deliveries_due ON deliveries(endpoint_id, next_attempt_ms) WHERE next_attempt_ms IS NOT NULL",
                "CREATE INDEX deliveries_by_case ON deliveries(case_id, id)",
                "CREATE INDEX deliveries_by_status ON deliveries(status, id)",
                """
                CREATE TABLE milestones (
                    id TEXT PRIMARY KEY,
                    case_id TEXT NOT NULL REFERENCES cases(id),
                    seq BIGINT NOT NULL,
                    title TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    due_at TEXT NOT NULL,
                    due_ms BIGINT NOT NULL,
                    audience TEXT NOT NULL,
                    reminders TEXT NOT NULL,
                    status TEXT NOT NULL,
                    completed_at TEXT,
                    created_at TEXT NOT NULL
                )
                """,
                "CREATE INDEX milestones_by_case ON milestones(case_id, due_ms, id)",
                """
                CREATE TABLE firings (
                    id TEXT PRIMARY KEY,
                    case_id TEXT NOT NULL REFERENCES cases(id),
                    subject_id TEXT NOT NULL,
                    purpose TEXT NOT NULL,
                    detail TEXT,
                    fire_at_ms BIGINT NOT NULL
                )
                """,
                "CREATE INDEX firings_due ON firings(fire_at_ms, id)",
                "CREATE INDEX firings_by_subject ON firings(subject_id)",
            ]),
        Migration(id: "v2-participant-removal", statements: ["ALTER TABLE participants ADD COLUMN removed_at TEXT"]),
    ]
}
