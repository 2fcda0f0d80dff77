-- "Contains" searches (`search_norm LIKE '%…%'`) read a trigram index instead of the whole
-- table (docs/query-plans.md). pg_trgm ships with PostgreSQL and is a trusted extension: the
-- database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX interventions_search_trgm_idx ON interventions USING gin (search_norm gin_trgm_ops);
CREATE INDEX equipements_search_trgm_idx ON equipements USING gin (search_norm gin_trgm_ops);
