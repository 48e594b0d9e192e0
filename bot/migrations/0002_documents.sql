-- Uploaded documents: one row per stored file, kept as history when replaced (replaced_at).
-- The item's current file is the row with replaced_at NULL. path is relative to BOT_FILES_DIR.
-- No foreign key to merchants: a merchant's first message may be a file, stored before the
-- merchant row is written (the row follows in the same update).
CREATE TABLE documents (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id        INTEGER NOT NULL,
    item           TEXT NOT NULL,
    path           TEXT NOT NULL,
    sha256         TEXT NOT NULL,
    size           INTEGER NOT NULL,
    mime           TEXT NOT NULL,
    original_name  TEXT NOT NULL DEFAULT '',
    uploaded_at    TEXT NOT NULL,
    replaced_at    TEXT
);
CREATE INDEX documents_user_item ON documents (user_id, item, replaced_at);
