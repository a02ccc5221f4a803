import GRDB

extension SQLiteStore {
    /// The schema's versions, applied in order and recorded in `grdb_migrations`.
    /// Never edit a shipped migration: add the next one.
    static let migrator: DatabaseMigrator = {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-cases-messages-log") { db in
            try db.execute(
                sql: """
                    CREATE TABLE tokens (
                        id TEXT PRIMARY KEY,
                        hash TEXT NOT NULL UNIQUE,   -- SHA-256 of the token; the token itself is never stored
                        role TEXT NOT NULL,
                        name TEXT NOT NULL,
                        created_at TEXT NOT NULL,
                        revoked_at TEXT
                    );
                    CREATE TABLE cases (
                        id TEXT PRIMARY KEY,
                        mrn TEXT NOT NULL,
                        patient TEXT NOT NULL,       -- canonical JSON
                        payer TEXT NOT NULL,         -- canonical JSON, 'null' when none
                        status TEXT NOT NULL,
                        created_at TEXT NOT NULL,
                        closed_at TEXT,
                        log_seq INTEGER NOT NULL,    -- head of the case log: its last seq and hash
                        log_hash TEXT NOT NULL
                    );
                    CREATE INDEX cases_by_status ON cases(status, id);
                    CREATE TABLE participants (
                        id TEXT PRIMARY KEY,
                        case_id TEXT NOT NULL REFERENCES cases(id),
                        token_id TEXT NOT NULL REFERENCES tokens(id),
                        role TEXT NOT NULL,
                        name TEXT NOT NULL,
                        email TEXT,
                        locale TEXT NOT NULL,
                        created_at TEXT NOT NULL
                    );
                    CREATE INDEX participants_by_token ON participants(token_id, case_id);
                    CREATE INDEX participants_by_case ON participants(case_id);
                    CREATE TABLE messages (
                        id TEXT PRIMARY KEY,
                        case_id TEXT NOT NULL REFERENCES cases(id),
                        thread TEXT NOT NULL,
                        seq INTEGER NOT NULL,
                        author_id TEXT NOT NULL,
                        author_role TEXT NOT NULL,
                        author_name TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        body TEXT NOT NULL,
                        data TEXT NOT NULL,          -- canonical JSON
                        reply_to TEXT,
                        relayed_from TEXT,
                        relay_note TEXT,
                        priority TEXT NOT NULL,
                        requires_ack INTEGER NOT NULL,
                        acks TEXT NOT NULL,          -- JSON array of {"by","at"}
                        created_at TEXT NOT NULL,
                        edited_at TEXT,
                        redacted INTEGER NOT NULL DEFAULT 0,
                        rendered TEXT NOT NULL       -- the message's API JSON, rewritten on every change
                    );
                    CREATE UNIQUE INDEX messages_by_thread ON messages(case_id, thread, seq);
                    CREATE TABLE log_entries (
                        case_id TEXT NOT NULL REFERENCES cases(id),
                        seq INTEGER NOT NULL,
                        at TEXT NOT NULL,
                        type TEXT NOT NULL,
                        thread TEXT,
                        parent_seq INTEGER,
                        actor TEXT NOT NULL,         -- canonical JSON
                        data TEXT NOT NULL,          -- canonical JSON, covered by the hash
                        content TEXT,                -- redactable text, covered through data.content_sha256
                        hash TEXT NOT NULL,
                        prev_hash TEXT NOT NULL,
                        PRIMARY KEY (case_id, seq)
                    ) WITHOUT ROWID;
                    CREATE TABLE idempotency_keys (
                        token_id TEXT NOT NULL,
                        key TEXT NOT NULL,
                        message_id TEXT NOT NULL,
                        created_ms INTEGER NOT NULL,
                        PRIMARY KEY (token_id, key)
                    ) WITHOUT ROWID;
                    CREATE INDEX idempotency_keys_by_age ON idempotency_keys(created_ms);
                    CREATE TABLE read_markers (
                        reader_id TEXT NOT NULL,
                        case_id TEXT NOT NULL,
                        thread TEXT NOT NULL,
                        up_to_seq INTEGER NOT NULL,
                        PRIMARY KEY (reader_id, case_id, thread)
                    ) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v2-webhooks-deliveries") { db in
            try db.execute(
                sql: """
                    CREATE TABLE endpoints (
                        id TEXT PRIMARY KEY,
                        url TEXT NOT NULL,
                        description TEXT NOT NULL,
                        events TEXT NOT NULL,        -- JSON array of event types, or ["*"]
                        roles TEXT NOT NULL,         -- JSON array of roles
                        include_text INTEGER NOT NULL,
                        enabled INTEGER NOT NULL,
                        disabled_reason TEXT,
                        secret TEXT NOT NULL,
                        previous_secret TEXT,        -- still signs until previous_secret_until_ms
                        previous_secret_until_ms INTEGER,
                        failing_since_ms INTEGER,    -- first failure since the last success
                        created_at TEXT NOT NULL
                    );
                    CREATE TABLE deliveries (
                        id TEXT PRIMARY KEY,
                        event_id TEXT NOT NULL,
                        case_id TEXT NOT NULL REFERENCES cases(id),
                        event_seq INTEGER NOT NULL,  -- the causing log entry
                        event_type TEXT NOT NULL,
                        thread TEXT,
                        channel TEXT NOT NULL,       -- webhook | email
                        endpoint_id TEXT REFERENCES endpoints(id),
                        participant_id TEXT REFERENCES participants(id),
                        target TEXT NOT NULL,        -- URL or e-mail address when queued
                        status TEXT NOT NULL,        -- pending | failed | delivered | dead
                        attempts TEXT NOT NULL,      -- JSON array of attempts
                        attempt_count INTEGER NOT NULL,
                        schedule_base INTEGER NOT NULL, -- attempt_count when the schedule last (re)started
                        next_attempt_ms INTEGER,     -- NULL once delivered or dead
                        lease_until_ms INTEGER,      -- claimed by a worker until then
                        created_at TEXT NOT NULL
                    );
                    -- Due rows per target (NULL: e-mail), so a claim reads only the rows it may take.
                    CREATE INDEX deliveries_due ON deliveries(endpoint_id, next_attempt_ms) WHERE next_attempt_ms IS NOT NULL;
                    CREATE INDEX deliveries_by_case ON deliveries(case_id, id);
                    CREATE INDEX deliveries_by_status ON deliveries(status, id);
                    """)
        }
        migrator.registerMigration("v3-care-plan-coordination") { db in
            try db.execute(
                sql: """
                    CREATE TABLE milestones (
                        id TEXT PRIMARY KEY,
                        case_id TEXT NOT NULL REFERENCES cases(id),
                        seq INTEGER NOT NULL,        -- its milestone.created entry
                        title TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        due_at TEXT NOT NULL,
                        due_ms INTEGER NOT NULL,
                        audience TEXT NOT NULL,      -- JSON array of threads
                        reminders TEXT NOT NULL,     -- JSON array of ISO 8601 durations
                        status TEXT NOT NULL,
                        completed_at TEXT,
                        created_at TEXT NOT NULL
                    );
                    CREATE INDEX milestones_by_case ON milestones(case_id, due_ms, id);
                    -- What the scheduler must do and when; a row is deleted in the transaction
                    -- that acts on it, so each firing happens exactly once.
                    CREATE TABLE firings (
                        id TEXT PRIMARY KEY,
                        case_id TEXT NOT NULL REFERENCES cases(id),
                        subject_id TEXT NOT NULL,    -- the milestone or message it concerns
                        purpose TEXT NOT NULL,       -- milestone.reminder | milestone.due | milestone.overdue | ack.escalation | authorization.escalation
                        detail TEXT,                 -- the reminder's duration, the escalation's round
                        fire_at_ms INTEGER NOT NULL
                    );
                    CREATE INDEX firings_due ON firings(fire_at_ms, id);
                    CREATE INDEX firings_by_subject ON firings(subject_id);
                    ALTER TABLE participants ADD COLUMN email_enabled INTEGER NOT NULL DEFAULT 1;
                    ALTER TABLE participants ADD COLUMN quiet_hours TEXT;   -- canonical JSON {start, end, time_zone}, or NULL
                    ALTER TABLE messages ADD COLUMN authorization TEXT;     -- an authorization request's state, canonical JSON
                    ALTER TABLE deliveries ADD COLUMN routed_by TEXT;       -- the rule or reason that chose the recipient; NULL: a subscription
                    """)
        }
        migrator.registerMigration("v4-delivery-lease-owner") { db in
            // Which hub process holds a delivery's lease: a process records only attempts it
            // leased, and frees only its own leases.
            try db.execute(sql: "ALTER TABLE deliveries ADD COLUMN lease_owner TEXT")
        }
        migrator.registerMigration("v5-participant-removal") { db in
            // When a participant's access to the case ended; their history stays.
            try db.execute(sql: "ALTER TABLE participants ADD COLUMN removed_at TEXT")
        }
        return migrator
    }()
}
