-- PostgreSQL twin of ../0005_updates.sql.
CREATE TABLE updates (
    update_id    BIGINT PRIMARY KEY,
    user_id      BIGINT,
    state        TEXT NOT NULL DEFAULT 'received',
    payload      TEXT,
    replies      TEXT,
    received_at  TEXT NOT NULL
);
CREATE INDEX updates_unfinished ON updates (state) WHERE state IN ('received', 'applied');
