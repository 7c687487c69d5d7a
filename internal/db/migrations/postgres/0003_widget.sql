-- What the widget tells agents about a shopper: device and local time on
-- the visitor, the pages they viewed, shop-verified identities (each
-- signature claimed by one visitor only) and offline messages.
ALTER TABLE visitors ADD COLUMN device TEXT NOT NULL DEFAULT '';
ALTER TABLE visitors ADD COLUMN timezone TEXT NOT NULL DEFAULT '';
ALTER TABLE visitors ADD COLUMN utc_offset INTEGER NOT NULL DEFAULT 0;

CREATE TABLE visitor_pages (
  id         TEXT PRIMARY KEY,
  tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  visitor_id TEXT NOT NULL REFERENCES visitors(id) ON DELETE CASCADE,
  url        TEXT NOT NULL,
  title      TEXT NOT NULL DEFAULT '',
  referrer   TEXT NOT NULL DEFAULT '',
  viewed_at  TIMESTAMP NOT NULL
);
CREATE INDEX visitor_pages_visitor ON visitor_pages(visitor_id, viewed_at);

CREATE TABLE identity_claims (
  site_id        TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
  signature_hash TEXT NOT NULL,
  visitor_id     TEXT NOT NULL REFERENCES visitors(id) ON DELETE CASCADE,
  customer_id    TEXT NOT NULL,
  expires_at     TIMESTAMP NOT NULL,
  PRIMARY KEY (site_id, signature_hash)
);
CREATE INDEX identity_claims_expiry ON identity_claims(expires_at);

CREATE TABLE offline_messages (
  id         TEXT PRIMARY KEY,
  tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  site_id    TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
  visitor_id TEXT NOT NULL REFERENCES visitors(id) ON DELETE CASCADE,
  name       TEXT NOT NULL,
  email      TEXT NOT NULL,
  message    TEXT NOT NULL,
  language   TEXT NOT NULL DEFAULT '',
  page_url   TEXT NOT NULL DEFAULT '',
  created_at TIMESTAMP NOT NULL
);
CREATE INDEX offline_messages_site ON offline_messages(site_id, created_at);
