// Package dbtest opens a fresh, migrated database for a test.
package dbtest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"tiski/internal/db"
)

// Open returns a migrated database that lives as long as the test.
func Open(t testing.TB) *db.DB {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, filepath.Join(t.TempDir(), "tiski.db"), db.Options{})
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(ctx, time.Now().UTC()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return d
}
