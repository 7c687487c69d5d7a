package db

import (
	"context"
	"database/sql"
	"time"
)

// MigrateUpTo applies the SQLite migrations up to version, for tests of
// upgrades from an older schema with data in it.
func (d *DB) MigrateUpTo(ctx context.Context, version int, now time.Time) (int, error) {
	ms, err := Migrations(d.Dialect)
	if err != nil {
		return 0, err
	}
	var upTo []Migration
	for _, m := range ms {
		if m.Version <= version {
			upTo = append(upTo, m)
		}
	}
	return d.applyMigrations(ctx, d.write, upTo, now)
}

// ReadPool is the read pool itself, for tests that need a read transaction.
func (d *DB) ReadPool() *sql.DB { return d.read }
