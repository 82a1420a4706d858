-- Custom migration: pg_trgm powers the typo-tolerant search fallback (trigram GIN index on
-- products.name, created by the next migration). Must run before that index exists.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
