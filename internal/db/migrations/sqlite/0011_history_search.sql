-- History search by text: a trigram index over the lower-cased message
-- text, so that LIKE '%words%' finds its rows without reading every
-- message. It keeps its own copy of the text (not an external-content
-- table: messages has no INTEGER PRIMARY KEY, and VACUUM may renumber its
-- rowids). Rows of deleted conversations stay until a rebuild; searches
-- join through conversations, so they are never shown.
CREATE VIRTUAL TABLE messages_search USING fts5(body_lc, conversation_id UNINDEXED, tokenize = 'trigram');

CREATE TRIGGER messages_search_insert AFTER INSERT ON messages BEGIN
  INSERT INTO messages_search (body_lc, conversation_id) VALUES (new.body_lc, new.conversation_id);
END;

INSERT INTO messages_search (body_lc, conversation_id) SELECT body_lc, conversation_id FROM messages;
