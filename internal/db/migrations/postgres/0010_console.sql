-- The agent console: presence, tags, canned responses, invitations,
-- participants and history search.

-- A node writes last_seen_at every few seconds while the agent has a
-- console connection open there; the away sweeper reads it on every node.
ALTER TABLE users ADD COLUMN last_seen_at TIMESTAMP;

-- Lower-cased copy of each message body for case-insensitive history
-- search with a portable LIKE (lowered in Go, so ä and Ä match).
ALTER TABLE messages ADD COLUMN body_lc TEXT NOT NULL DEFAULT '';
UPDATE messages SET body_lc = lower(body);

CREATE INDEX conversations_history ON conversations(tenant_id, status, closed_at);
CREATE INDEX conversations_department ON conversations(tenant_id, department_id, closed_at);
CREATE INDEX visitors_tenant ON visitors(tenant_id);

CREATE TABLE tags (
  id         TEXT PRIMARY KEY,
  tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  name       TEXT NOT NULL,
  name_lc    TEXT NOT NULL,
  color      TEXT NOT NULL,
  created_at TIMESTAMP NOT NULL,
  UNIQUE (tenant_id, name_lc)
);

CREATE TABLE conversation_tags (
  conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  tag_id          TEXT NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
  tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  created_at      TIMESTAMP NOT NULL,
  PRIMARY KEY (conversation_id, tag_id)
);
CREATE INDEX conversation_tags_tag ON conversation_tags(tag_id);

CREATE TABLE canned_responses (
  id            TEXT PRIMARY KEY,
  tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  department_id TEXT REFERENCES departments(id) ON DELETE SET NULL,
  shortcut      TEXT NOT NULL,
  title         TEXT NOT NULL,
  body          TEXT NOT NULL,
  created_at    TIMESTAMP NOT NULL,
  updated_at    TIMESTAMP NOT NULL
);
CREATE INDEX canned_responses_tenant ON canned_responses(tenant_id, shortcut);

-- One-time invitation links; only the token's hash is kept.
CREATE TABLE invites (
  token_hash TEXT PRIMARY KEY,
  tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  expires_at TIMESTAMP NOT NULL,
  used_at    TIMESTAMP,
  created_at TIMESTAMP NOT NULL
);
CREATE INDEX invites_user ON invites(user_id);

-- Supervisors who joined a conversation beside its assignee.
CREATE TABLE conversation_participants (
  conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  joined_at       TIMESTAMP NOT NULL,
  PRIMARY KEY (conversation_id, user_id)
);
