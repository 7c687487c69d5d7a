-- The console's inbox lists conversations that are not closed, newest
-- activity first. Closed ones pile up for years while open ones stay few,
-- so a partial index over the open ones answers a page without sorting and
-- stays the same size however much history there is.
CREATE INDEX conversations_open_activity ON conversations(tenant_id, last_activity_at DESC, id DESC) WHERE status <> 'closed';
