-- Every stored message used to move entries in four indexes of messages
-- and three of conversations, each on a page of its own: at a hundred
-- messages a commit that was well over a thousand pages through the WAL.
-- This keeps one index per question the code asks:
--
-- * (conversation_id, seq) stays unique: history pages and both streams
--   read it. A visitor's stream is read from it too: visitor_seq never
--   exceeds seq, so "visitor_seq > n" seeks from "seq > n".
-- * One unique index answers idempotency: a visitor's client id is looked
--   up by (sender_id, client_msg_id), an agent's with the conversation as
--   well; sender ids name one kind of sender, so this is the same rule as
--   the old (conversation_id, sender_kind, sender_id, client_msg_id).
-- * visitor_seq needs no index of its own: it is handed out under the
--   conversation's row lock, as seq is.
-- * The inactivity sweeper reads the open conversations' partial index
--   (0015) instead of an index over all conversations' activity, and the
--   inbox no longer needs (tenant_id, status, last_activity_at).
--
-- SQLite cannot drop a table's UNIQUE clause, so messages is rebuilt.
CREATE TABLE messages_new (
  id              TEXT PRIMARY KEY,
  tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  seq             INTEGER NOT NULL,
  visitor_seq     INTEGER,
  sender_kind     TEXT NOT NULL CHECK (sender_kind IN ('visitor', 'agent', 'system')),
  sender_id       TEXT NOT NULL,
  sender_name     TEXT NOT NULL DEFAULT '',
  client_msg_id   TEXT,
  kind            TEXT NOT NULL CHECK (kind IN ('text', 'file', 'event', 'note')),
  body            TEXT NOT NULL,
  event           TEXT NOT NULL DEFAULT '',
  data            TEXT NOT NULL DEFAULT '{}',
  attachment_id   TEXT REFERENCES attachments(id) ON DELETE SET NULL,
  created_at      TIMESTAMP NOT NULL,
  body_lc         TEXT NOT NULL DEFAULT '',
  UNIQUE (conversation_id, seq)
);
INSERT INTO messages_new (id, tenant_id, conversation_id, seq, visitor_seq, sender_kind, sender_id, sender_name,
  client_msg_id, kind, body, event, data, attachment_id, created_at, body_lc)
SELECT id, tenant_id, conversation_id, seq, visitor_seq, sender_kind, sender_id, sender_name,
  client_msg_id, kind, body, event, data, attachment_id, created_at, body_lc FROM messages;
DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;
CREATE UNIQUE INDEX messages_client_id ON messages(sender_id, client_msg_id, conversation_id);

-- The full-text index is fed in batches. FTS5 writes a new segment for
-- every savepoint (one per write in a group commit) and merges segments as
-- they pile up, which was a third of the cost of storing a message. A
-- message's text now goes to a small append-only queue in the same
-- transaction, and the search indexer moves the queue into the index a few
-- thousand rows at a time (chat.Service.IndexSearch); searches read the
-- queue as well, so a message is findable as soon as it is stored.
CREATE TABLE messages_search_pending (
  id              INTEGER PRIMARY KEY,
  conversation_id TEXT NOT NULL,
  body_lc         TEXT NOT NULL
);
CREATE TRIGGER messages_search_insert AFTER INSERT ON messages BEGIN
  INSERT INTO messages_search_pending (conversation_id, body_lc) VALUES (new.conversation_id, new.body_lc);
END;

DROP INDEX conversations_inbox;
DROP INDEX conversations_activity;
