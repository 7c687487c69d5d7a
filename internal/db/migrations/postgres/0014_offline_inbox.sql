-- The console's offline inbox: who handled a shopper's offline message and
-- when, and the reply an agent mailed (the mail itself is in mail_outbox).
ALTER TABLE offline_messages ADD COLUMN handled_at TIMESTAMP;
ALTER TABLE offline_messages ADD COLUMN handled_by TEXT NOT NULL DEFAULT '';
ALTER TABLE offline_messages ADD COLUMN reply TEXT NOT NULL DEFAULT '';
ALTER TABLE offline_messages ADD COLUMN replied_at TIMESTAMP;
ALTER TABLE offline_messages ADD COLUMN replied_by TEXT NOT NULL DEFAULT '';
CREATE INDEX offline_messages_tenant ON offline_messages(tenant_id, created_at);
