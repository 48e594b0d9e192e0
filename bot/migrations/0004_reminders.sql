-- Reminders: the database is the source of truth; one scheduler delivers what falls due.
-- state: pending → sending → sent; or cancelled (plan changed), dropped (superseded in its chain
-- or obsolete), uncertain (the process stopped between sending and recording: never resent),
-- failed (Telegram refused it for good).
CREATE TABLE reminders (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL,
    key         TEXT NOT NULL,
    kind        TEXT NOT NULL,
    chain       TEXT NOT NULL,
    due_at      TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending',
    data        TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL,
    sent_at     TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    UNIQUE (user_id, key)
);
CREATE INDEX reminders_due ON reminders (state, due_at);
ALTER TABLE merchants ADD COLUMN unreachable INTEGER NOT NULL DEFAULT 0;
