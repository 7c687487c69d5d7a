-- History search by text: a trigram index over the lower-cased message
-- text, so that LIKE '%words%' finds its rows without reading every
-- message. pg_trgm is a trusted extension (a database owner may create
-- it). It is database-wide and lives in one schema, so the index names
-- its operator class in whichever schema holds it; two installations
-- creating it at once do not fail.
DO $$
DECLARE s text;
BEGIN
  BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
  EXCEPTION WHEN unique_violation OR duplicate_object THEN
    NULL;
  END;
  SELECT n.nspname INTO s FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';
  EXECUTE format('CREATE INDEX messages_body_trgm ON messages USING gin (body_lc %I.gin_trgm_ops)', s);
END
$$;
