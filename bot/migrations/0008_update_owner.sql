-- Which process recorded an update (several replicas on PostgreSQL: bot.replica). An update
-- left unfinished is picked up by another process only once its owner is gone. NULL on SQLite,
-- where one process owns everything.
ALTER TABLE updates ADD COLUMN owner INTEGER;
