-- The console at 100,000 merchants: the funnel (bot/console/funnel.py: how far merchants got,
-- review results), the queue's review deadlines and the list's search, all without reading
-- every merchant's JSON state (bench/console.py measures the pages).
-- The journey's stages in order (flows.journey.stages; 'done': every stage behind the merchant).
-- tests/test_console_funnel.py checks this order against flows.journey.
CREATE TABLE journey_stages (
    key  TEXT PRIMARY KEY,
    pos  INTEGER NOT NULL UNIQUE
) WITHOUT ROWID;
INSERT INTO journey_stages (key, pos) VALUES
    ('route', 0), ('qualify', 1), ('docs', 2), ('apply', 3), ('submit', 4), ('review', 5),
    ('join', 6), ('done', 7);
-- The furthest stage a merchant has reached (a position above): never goes back, so a merchant
-- whose application was rejected and who is preparing again still counts as having reached
-- 等待审核. A status says the merchant got at least that far (submitted … → review, approved →
-- join, joined → done), whatever the next stage to do is.
ALTER TABLE merchants ADD COLUMN reached INTEGER NOT NULL DEFAULT -1;
CREATE INDEX merchants_reached ON merchants (route, reached);
-- When each stage was first reached, with the merchant's current route ('' for none): "this
-- week" is one index range per route and stage, counted without sorting anything.
CREATE TABLE merchant_progress (
    user_id     INTEGER NOT NULL,
    pos         INTEGER NOT NULL,
    route       TEXT NOT NULL DEFAULT '',
    reached_at  TEXT NOT NULL,
    PRIMARY KEY (user_id, pos)
) WITHOUT ROWID;
CREATE INDEX merchant_progress_at ON merchant_progress (route, pos, reached_at);
-- Both are kept by triggers on merchants, so every save keeps them in the same statement (the
-- one-statement save of bot.store included); a save that does not move the merchant forward
-- costs one lookup in journey_stages. (No OR IGNORE in a trigger: an upsert's own conflict
-- handling overrides it; rows already there are skipped by NOT EXISTS.)
CREATE TRIGGER merchants_reached_insert AFTER INSERT ON merchants
BEGIN
    INSERT INTO merchant_progress (user_id, pos, route, reached_at)
        SELECT NEW.user_id, s.pos, COALESCE(NEW.route, ''), NEW.updated_at FROM journey_stages s
        WHERE s.pos <= MAX(
            COALESCE((SELECT pos FROM journey_stages WHERE key = NEW.stage), 0),
            CASE WHEN NEW.status = 'joined' THEN 7 WHEN NEW.status = 'approved' THEN 6
                 WHEN NEW.status IS NOT NULL THEN 5 ELSE 0 END)
        AND NOT EXISTS (SELECT 1 FROM merchant_progress p
                        WHERE p.user_id = NEW.user_id AND p.pos = s.pos);
    UPDATE merchants SET reached = (SELECT MAX(pos) FROM merchant_progress
                                    WHERE user_id = NEW.user_id)
        WHERE user_id = NEW.user_id;
END;
CREATE TRIGGER merchants_reached_update AFTER UPDATE OF stage, status ON merchants
WHEN MAX(
    COALESCE((SELECT pos FROM journey_stages WHERE key = NEW.stage), 0),
    CASE WHEN NEW.status = 'joined' THEN 7 WHEN NEW.status = 'approved' THEN 6
         WHEN NEW.status IS NOT NULL THEN 5 ELSE 0 END) > NEW.reached
BEGIN
    INSERT INTO merchant_progress (user_id, pos, route, reached_at)
        SELECT NEW.user_id, s.pos, COALESCE(NEW.route, ''), NEW.updated_at FROM journey_stages s
        WHERE s.pos <= MAX(
            COALESCE((SELECT pos FROM journey_stages WHERE key = NEW.stage), 0),
            CASE WHEN NEW.status = 'joined' THEN 7 WHEN NEW.status = 'approved' THEN 6
                 WHEN NEW.status IS NOT NULL THEN 5 ELSE 0 END)
        AND NOT EXISTS (SELECT 1 FROM merchant_progress p
                        WHERE p.user_id = NEW.user_id AND p.pos = s.pos);
    UPDATE merchants SET reached = (SELECT MAX(pos) FROM merchant_progress
                                    WHERE user_id = NEW.user_id)
        WHERE user_id = NEW.user_id;
END;
CREATE TRIGGER merchants_progress_route AFTER UPDATE OF route ON merchants
WHEN OLD.route IS NOT NEW.route
BEGIN
    UPDATE merchant_progress SET route = COALESCE(NEW.route, '') WHERE user_id = NEW.user_id;
END;
-- Review results an operator recorded (/setstatus or the console) for a submission under
-- review: submitted_on and decided_on are the merchant's local dates (the state's submitted_on
-- and status_on), route the route under review. first = 1 for the first result of a
-- submission (from submitted or reviewing): the funnel's "working days to a result".
-- Written by bot.store.save_merchant with the status history, in the same transaction.
CREATE TABLE review_results (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       INTEGER NOT NULL,
    route         TEXT,
    result        TEXT NOT NULL,
    first         INTEGER NOT NULL,
    submitted_on  TEXT,
    decided_on    TEXT NOT NULL
);
CREATE INDEX review_results_decided ON review_results
    (decided_on, route, result, first, submitted_on, user_id);
CREATE INDEX review_results_user ON review_results (user_id);
-- Backfill. Stages: what the stored stage and status say, reached when the row was last saved
-- (the merchant's first stage when it was created): the weeks before this migration are an
-- estimate, every week after it is exact.
INSERT INTO merchant_progress (user_id, pos, route, reached_at)
    SELECT m.user_id, s.pos, COALESCE(m.route, ''),
           CASE WHEN s.pos = 0 THEN m.created_at ELSE m.updated_at END
    FROM merchants m JOIN journey_stages s ON s.pos <= MAX(
        COALESCE((SELECT pos FROM journey_stages WHERE key = m.stage), 0),
        CASE WHEN m.status = 'joined' THEN 7 WHEN m.status = 'approved' THEN 6
             WHEN m.status IS NOT NULL THEN 5 ELSE 0 END);
UPDATE merchants SET reached = COALESCE(
    (SELECT MAX(pos) FROM merchant_progress p WHERE p.user_id = merchants.user_id), -1);
-- Results: from the status history (its times are UTC; the dates are the UTC dates, and a
-- submission's date is when the merchant told the bot).
INSERT INTO review_results (user_id, route, result, first, submitted_on, decided_on)
    SELECT h.user_id, m.route, h.new, h.old IN ('submitted', 'reviewing'),
           (SELECT date(MAX(s.at)) FROM status_history s
            WHERE s.user_id = h.user_id AND s.new = 'submitted' AND s.id < h.id),
           date(h.at)
    FROM status_history h LEFT JOIN merchants m ON m.user_id = h.user_id
    WHERE h.by LIKE 'operator%' AND h.new IN ('approved', 'rejected', 'need_more')
      AND h.old IN ('submitted', 'reviewing', 'need_more')
    ORDER BY h.id;
-- The queue: a submission's date and a need_more deadline, read from the JSON state by
-- generated (virtual) columns, indexed so that "overdue" and "deadline near" are index ranges.
ALTER TABLE merchants ADD COLUMN submitted_on TEXT
    GENERATED ALWAYS AS (json_extract(state, '$.submitted_on')) VIRTUAL;
ALTER TABLE merchants ADD COLUMN need_more_by TEXT
    GENERATED ALWAYS AS (json_extract(state, '$.need_more.deadline')) VIRTUAL;
CREATE INDEX merchants_review ON merchants (status, route, submitted_on);
CREATE INDEX merchants_need_more ON merchants (status, need_more_by);
-- New uploads: each merchant's latest upload, kept by a trigger on documents, so that the queue
-- reads the merchants with an upload in the last 30 days in order, one row each (grouping the
-- documents themselves sorted thousands of rows on every visit).
CREATE TABLE upload_latest (
    user_id      INTEGER PRIMARY KEY,
    last_upload  TEXT NOT NULL
);
CREATE INDEX upload_latest_at ON upload_latest (last_upload);
CREATE TRIGGER documents_latest AFTER INSERT ON documents
BEGIN
    DELETE FROM upload_latest WHERE user_id = NEW.user_id AND last_upload <= NEW.uploaded_at;
    INSERT INTO upload_latest (user_id, last_upload)
        SELECT NEW.user_id, NEW.uploaded_at
        WHERE NOT EXISTS (SELECT 1 FROM upload_latest WHERE user_id = NEW.user_id);
END;
INSERT INTO upload_latest (user_id, last_upload)
    SELECT user_id, MAX(uploaded_at) FROM documents GROUP BY user_id;
-- The list filtered and sorted by when a merchant joined (or by status and last change): each
-- an index in the list's order, so that a page never sorts the matching rows.
CREATE INDEX merchants_stage_created ON merchants (stage, created_at);
CREATE INDEX merchants_route_created ON merchants (route, created_at);
CREATE INDEX merchants_status_created ON merchants (status, created_at);
CREATE INDEX merchants_status_updated ON merchants (status, updated_at);
-- (status) alone is their prefix: one index fewer to keep on every save
DROP INDEX merchants_status;
-- The list's search ("%term%" in the shop name or contact): the two texts of every merchant who
-- typed one, in a compact table a LIKE scans quickly (the merchants table holds the JSON
-- states: scanning it parses every one). Kept by triggers; a save that changes neither text
-- writes nothing here.
CREATE TABLE merchant_search (
    user_id  INTEGER PRIMARY KEY,
    text     TEXT NOT NULL
);
CREATE TRIGGER merchant_search_insert AFTER INSERT ON merchants
WHEN NEW.shop_name IS NOT NULL OR NEW.contact IS NOT NULL
BEGIN
    DELETE FROM merchant_search WHERE user_id = NEW.user_id;
    INSERT INTO merchant_search (user_id, text)
        VALUES (NEW.user_id, COALESCE(NEW.shop_name, '') || char(10) || COALESCE(NEW.contact, ''));
END;
CREATE TRIGGER merchant_search_update AFTER UPDATE OF state ON merchants
WHEN OLD.shop_name IS NOT NEW.shop_name OR OLD.contact IS NOT NEW.contact
BEGIN
    DELETE FROM merchant_search WHERE user_id = NEW.user_id;
    INSERT INTO merchant_search (user_id, text)
        SELECT NEW.user_id, COALESCE(NEW.shop_name, '') || char(10) || COALESCE(NEW.contact, '')
        WHERE NEW.shop_name IS NOT NULL OR NEW.contact IS NOT NULL;
END;
INSERT INTO merchant_search (user_id, text)
    SELECT user_id, COALESCE(shop_name, '') || char(10) || COALESCE(contact, '') FROM merchants
    WHERE shop_name IS NOT NULL OR contact IS NOT NULL;
