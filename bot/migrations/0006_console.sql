-- The operator console (bot/console/).
-- Its signing key, made once and kept here so that links and sessions survive a restart.
CREATE TABLE console_keys (
    name   TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
-- One-time login links: a link names its nonce; opening it sets used_at (once, atomically).
CREATE TABLE console_links (
    nonce        TEXT PRIMARY KEY,
    operator_id  INTEGER NOT NULL,
    issued_at    TEXT NOT NULL,
    used_at      TEXT
);
-- Sessions: the cookie holds a random id; only its SHA-256 is stored. csrf: the token every
-- form that changes something must carry. A session ends at expires_at, or at logout.
CREATE TABLE console_sessions (
    id_hash      TEXT PRIMARY KEY,
    operator_id  INTEGER NOT NULL,
    csrf         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
-- Every operator action: who, when, what, on whom, before → after (JSON text or a value).
CREATE TABLE console_audit (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    at           TEXT NOT NULL,
    operator_id  INTEGER NOT NULL,
    action       TEXT NOT NULL,
    target       INTEGER,
    before       TEXT NOT NULL DEFAULT '',
    after        TEXT NOT NULL DEFAULT '',
    detail       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX console_audit_target ON console_audit (target, id);
-- When an operator last opened a merchant's page: uploads after it are "new" in the queue.
CREATE TABLE console_seen (
    user_id      INTEGER PRIMARY KEY,
    seen_at      TEXT NOT NULL,
    operator_id  INTEGER NOT NULL
);
-- What the console's queue and merchant list filter, search and sort by. The shop name and
-- contact live in the JSON state: generated (virtual) columns read them, indexes keep them fast.
ALTER TABLE merchants ADD COLUMN shop_name TEXT
    GENERATED ALWAYS AS (json_extract(state, '$.application.fields.shop_name')) VIRTUAL;
ALTER TABLE merchants ADD COLUMN contact TEXT
    GENERATED ALWAYS AS (json_extract(state, '$.application.fields.contact.value')) VIRTUAL;
CREATE INDEX merchants_updated ON merchants (updated_at, user_id);
CREATE INDEX merchants_created ON merchants (created_at, user_id);
CREATE INDEX merchants_stage ON merchants (stage, updated_at);
CREATE INDEX merchants_route ON merchants (route, updated_at);
CREATE INDEX merchants_blocked ON merchants (updated_at) WHERE unreachable = 1;
CREATE INDEX documents_uploaded ON documents (uploaded_at);
