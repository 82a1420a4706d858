-- pg_trgm powers the typo-tolerant search fallback (trigram GIN index on products.name).
-- Hand-written: drizzle-kit does not manage extensions; must run before the index exists.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
