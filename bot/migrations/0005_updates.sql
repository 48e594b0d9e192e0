-- Updates received from Telegram, written before the next getUpdates confirms them to the Bot
-- API (so a crash never loses one) and keyed by update_id (so a redelivery is applied once).
-- state: received → applied (effects committed with the merchant's state; the rendered
-- replies kept in `replies` until they are sent) → answered; or failed (the replies could not
-- be delivered through a long outage). payload and replies are cleared once answered.
CREATE TABLE updates (
    update_id    INTEGER PRIMARY KEY,
    user_id      INTEGER,
    state        TEXT NOT NULL DEFAULT 'received',
    payload      TEXT,
    replies      TEXT,
    received_at  TEXT NOT NULL
);
CREATE INDEX updates_unfinished ON updates (state) WHERE state IN ('received', 'applied');
