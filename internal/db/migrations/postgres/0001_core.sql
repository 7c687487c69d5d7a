-- Tiski core schema (PostgreSQL). The SQLite twin has the same tables,
-- columns and constraints; only types differ. All ids are app-generated
-- UUIDv7 text; all timestamps come from the application clock in UTC.

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE tenants (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  created_at TIMESTAMP NOT NULL
);

CREATE TABLE sites (
  id              TEXT PRIMARY KEY,
  tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  widget_key      TEXT NOT NULL UNIQUE,
  name            TEXT NOT NULL,
  language        TEXT NOT NULL,
  timezone        TEXT NOT NULL,
  identity_secret TEXT NOT NULL,
  settings        TEXT NOT NULL DEFAULT '{}',
  created_at      TIMESTAMP NOT NULL,
  updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX sites_tenant ON sites(tenant_id);

CREATE TABLE site_origins (
  site_id TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
  origin  TEXT NOT NULL,
  PRIMARY KEY (site_id, origin)
);

CREATE TABLE departments (
  id         TEXT PRIMARY KEY,
  tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  name       TEXT NOT NULL,
  created_at TIMESTAMP NOT NULL,
  UNIQUE (tenant_id, name)
);

CREATE TABLE users (
  id            TEXT PRIMARY KEY,
  tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  email         TEXT NOT NULL UNIQUE,
  name          TEXT NOT NULL,
  role          TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'supervisor', 'agent')),
  password_hash TEXT NOT NULL,
  status        TEXT NOT NULL DEFAULT 'offline' CHECK (status IN ('online', 'away', 'offline')),
  max_chats     BIGINT NOT NULL DEFAULT 3,
  disabled      BOOLEAN NOT NULL DEFAULT FALSE,
  last_active_at TIMESTAMP,
  created_at    TIMESTAMP NOT NULL,
  updated_at    TIMESTAMP NOT NULL
);
CREATE INDEX users_tenant ON users(tenant_id);

CREATE TABLE user_departments (
  user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  department_id TEXT NOT NULL REFERENCES departments(id) ON DELETE CASCADE,
  PRIMARY KEY (user_id, department_id)
);

CREATE TABLE sessions (
  token_hash   TEXT PRIMARY KEY,
  user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  csrf_token   TEXT NOT NULL,
  created_at   TIMESTAMP NOT NULL,
  last_seen_at TIMESTAMP NOT NULL,
  expires_at   TIMESTAMP NOT NULL,
  ip           TEXT NOT NULL DEFAULT '',
  user_agent   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions(user_id);

-- Failed-login counters, shared by every node.
CREATE TABLE auth_throttle (
  key          TEXT PRIMARY KEY,
  failures     BIGINT NOT NULL,
  window_start TIMESTAMP NOT NULL,
  locked_until TIMESTAMP
);

CREATE TABLE visitors (
  id               TEXT PRIMARY KEY,
  tenant_id        TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  site_id          TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
  token_hash       TEXT NOT NULL UNIQUE,
  token_expires_at TIMESTAMP NOT NULL,
  name             TEXT NOT NULL DEFAULT '',
  email            TEXT NOT NULL DEFAULT '',
  customer_id      TEXT,
  language         TEXT NOT NULL DEFAULT '',
  attributes       TEXT NOT NULL DEFAULT '{}',
  created_at       TIMESTAMP NOT NULL,
  last_seen_at     TIMESTAMP NOT NULL
);
CREATE INDEX visitors_site ON visitors(site_id, created_at);
CREATE INDEX visitors_customer ON visitors(site_id, customer_id);

CREATE TABLE conversations (
  id               TEXT PRIMARY KEY,
  tenant_id        TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  site_id          TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
  visitor_id       TEXT NOT NULL REFERENCES visitors(id) ON DELETE CASCADE,
  previous_id      TEXT REFERENCES conversations(id) ON DELETE SET NULL,
  epoch            TEXT NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('open', 'queued', 'assigned', 'closed')),
  department_id    TEXT REFERENCES departments(id) ON DELETE SET NULL,
  assignee_id      TEXT REFERENCES users(id) ON DELETE SET NULL,
  -- The conversation's two gapless streams: seq counts every message
  -- (agents see all), visitor_seq counts those the visitor may see.
  last_seq         BIGINT NOT NULL DEFAULT 0,
  last_visitor_seq BIGINT NOT NULL DEFAULT 0,
  closed_by        TEXT CHECK (closed_by IN ('agent', 'visitor', 'timeout')),
  created_at       TIMESTAMP NOT NULL,
  queued_at        TIMESTAMP,
  assigned_at      TIMESTAMP,
  closed_at        TIMESTAMP,
  last_message_at  TIMESTAMP,
  last_activity_at TIMESTAMP NOT NULL
);
-- A visitor has at most one conversation that is not closed, even when two
-- tabs or two nodes start one at the same moment.
CREATE UNIQUE INDEX conversations_one_active ON conversations(visitor_id) WHERE status <> 'closed';
CREATE INDEX conversations_visitor ON conversations(visitor_id, created_at);
CREATE INDEX conversations_inbox ON conversations(tenant_id, status, last_activity_at);
CREATE INDEX conversations_assignee ON conversations(assignee_id, status);
CREATE INDEX conversations_activity ON conversations(status, last_activity_at);

CREATE TABLE attachments (
  id              TEXT PRIMARY KEY,
  tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  name            TEXT NOT NULL,
  content_type    TEXT NOT NULL,
  size            BIGINT NOT NULL,
  sha256          TEXT NOT NULL,
  storage_key     TEXT NOT NULL,
  created_at      TIMESTAMP NOT NULL
);
CREATE INDEX attachments_conversation ON attachments(conversation_id);

CREATE TABLE messages (
  id              TEXT PRIMARY KEY,
  tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  seq             BIGINT NOT NULL,
  visitor_seq     BIGINT,
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
  UNIQUE (conversation_id, seq),
  UNIQUE (conversation_id, visitor_seq),
  -- Permanent idempotency: a retried send is stored once, forever.
  UNIQUE (conversation_id, sender_kind, sender_id, client_msg_id)
);
CREATE INDEX messages_client_id ON messages(sender_id, client_msg_id);

-- Read positions: each reader has seen its stream up to seq (visitors in
-- visitor_seq numbers, agents in seq numbers).
CREATE TABLE read_marks (
  conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  reader_kind     TEXT NOT NULL CHECK (reader_kind IN ('visitor', 'agent')),
  reader_id       TEXT NOT NULL,
  seq             BIGINT NOT NULL,
  updated_at      TIMESTAMP NOT NULL,
  PRIMARY KEY (conversation_id, reader_kind, reader_id)
);

CREATE TABLE ratings (
  conversation_id TEXT PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
  tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  site_id         TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
  visitor_id      TEXT NOT NULL REFERENCES visitors(id) ON DELETE CASCADE,
  agent_id        TEXT REFERENCES users(id) ON DELETE SET NULL,
  score           TEXT NOT NULL CHECK (score IN ('good', 'neutral', 'bad')),
  comment         TEXT NOT NULL DEFAULT '',
  created_at      TIMESTAMP NOT NULL,
  updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX ratings_tenant ON ratings(tenant_id, created_at);

-- Append-only log of what happened, for analytics and audit.
CREATE TABLE events (
  id              TEXT PRIMARY KEY,
  tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  site_id         TEXT,
  conversation_id TEXT,
  visitor_id      TEXT,
  actor_kind      TEXT NOT NULL,
  actor_id        TEXT NOT NULL DEFAULT '',
  type            TEXT NOT NULL,
  data            TEXT NOT NULL DEFAULT '{}',
  created_at      TIMESTAMP NOT NULL
);
CREATE INDEX events_tenant_type ON events(tenant_id, type, created_at);
CREATE INDEX events_conversation ON events(conversation_id);
