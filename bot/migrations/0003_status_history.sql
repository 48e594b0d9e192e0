-- Review status history: appended on every change, never rewritten (who, when, old → new, note).
CREATE TABLE status_history (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id  INTEGER NOT NULL,
    at       TEXT NOT NULL,
    by       TEXT NOT NULL,
    old      TEXT,
    new      TEXT NOT NULL,
    note     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX status_history_user ON status_history (user_id, id);
