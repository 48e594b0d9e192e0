-- PostgreSQL twin of ../0001_merchants.sql (same numbers, same tables and columns; ids are
-- BIGINT: Telegram user ids exceed 32 bits). Times stay ISO-8601 UTC text, as on SQLite, so
-- the store's SQL and its comparisons are the same on both.
CREATE TABLE merchants (
    user_id     BIGINT PRIMARY KEY,
    chat_id     BIGINT NOT NULL,
    language    TEXT,
    route       TEXT,
    stage       TEXT,
    status      TEXT,
    state       TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX merchants_status ON merchants (status);
