-- Every stored message used to move entries in four indexes of messages
-- and three of conversations. This keeps one index per question the code
-- asks (the SQLite migration of the same number explains each):
-- (conversation_id, seq) serves history and both streams, one unique index
-- answers idempotency for visitors and agents alike, visitor_seq needs no
-- index of its own, and the inactivity sweeper reads the open
-- conversations' partial index.
ALTER TABLE messages DROP CONSTRAINT messages_conversation_id_visitor_seq_key;
ALTER TABLE messages DROP CONSTRAINT messages_conversation_id_sender_kind_sender_id_client_msg_i_key;
DROP INDEX messages_client_id;
CREATE UNIQUE INDEX messages_client_id ON messages(sender_id, client_msg_id, conversation_id);
DROP INDEX conversations_inbox;
DROP INDEX conversations_activity;
