-- Profile photos of users. The console shows them and the widget shows the
-- online agent's. photo_key is random and changes with every new photo, so
-- the public URL /avatars/{photo_key}.png is unguessable and cacheable for
-- ever; '' means no photo.
ALTER TABLE users ADD COLUMN photo_key TEXT NOT NULL DEFAULT '';

-- The re-encoded 128×128 PNG (a few KiB), apart from users so that user
-- listings do not read image bytes.
CREATE TABLE user_photos (
  photo_key  TEXT PRIMARY KEY,
  tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  image      BLOB NOT NULL,
  created_at TIMESTAMP NOT NULL
);
CREATE INDEX user_photos_user ON user_photos(user_id);
