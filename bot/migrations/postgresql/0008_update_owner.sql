-- PostgreSQL twin of ../0008_update_owner.sql.
ALTER TABLE updates ADD COLUMN owner INTEGER;
