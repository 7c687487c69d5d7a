-- Email that Tiski owes someone (offline messages, transcripts, team
-- notifications), written in the same transaction as what caused it and
-- sent by a background worker with retries.
CREATE TABLE mail_outbox (
  id              TEXT PRIMARY KEY,
  tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  to_addr         TEXT NOT NULL,
  reply_to        TEXT NOT NULL DEFAULT '',
  subject         TEXT NOT NULL,
  text_body       TEXT NOT NULL,
  html_body       TEXT NOT NULL DEFAULT '',
  kind            TEXT NOT NULL,
  status          TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
  attempts        BIGINT NOT NULL DEFAULT 0,
  next_attempt_at TIMESTAMP NOT NULL,
  claimed_until   TIMESTAMP,
  last_error      TEXT NOT NULL DEFAULT '',
  created_at      TIMESTAMP NOT NULL,
  sent_at         TIMESTAMP
);
CREATE INDEX mail_outbox_due ON mail_outbox(status, next_attempt_at);
CREATE INDEX mail_outbox_tenant ON mail_outbox(tenant_id, created_at);
