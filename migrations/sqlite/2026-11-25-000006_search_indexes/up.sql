-- PostgreSQL gains trigram indexes for "contains" searches in this migration. SQLite has no
-- such index type (a B-tree cannot serve LIKE '%…%'); its searches scan search_norm, which is
-- compact and local. Kept so both backends number their migrations alike.
SELECT 1;
