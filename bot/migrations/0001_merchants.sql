-- Merchants: one row per Telegram user. The journey state is a JSON document owned by flows/;
-- a few columns are kept beside it so operators can query without parsing JSON.
CREATE TABLE merchants (
    user_id     INTEGER PRIMARY KEY,
    chat_id     INTEGER NOT NULL,
    language    TEXT,
    route       TEXT,
    stage       TEXT,
    status      TEXT,
    state       TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX merchants_status ON merchants (status);
