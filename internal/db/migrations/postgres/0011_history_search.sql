-- History search by text: a trigram index over the lower-cased message
-- text, so that LIKE '%words%' finds its rows without reading every
-- message. (pg_trgm is a trusted extension: a database owner may create it.)
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX messages_body_trgm ON messages USING gin (body_lc gin_trgm_ops);
