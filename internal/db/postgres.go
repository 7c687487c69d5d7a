package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"tiski/internal/apperr"
)

// IsPostgresURL reports whether dsn names a PostgreSQL database.
func IsPostgresURL(dsn string) bool {
	return hasPrefix(dsn, "postgres://") || hasPrefix(dsn, "postgresql://")
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

// openPostgres opens two pools on one PostgreSQL database: readers, and
// one connection per committer of the write queue. Several nodes may share
// the database; everything that must not race (sequences, assignment,
// caps) is decided under row locks inside the write transactions.
func openPostgres(ctx context.Context, dsn string, o Options) (*DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, apperr.Wrap(apperr.Invalid, err, "the database URL is not valid")
	}
	if cfg.ConnectTimeout == 0 {
		// A database that does not answer fails writes instead of hanging
		// them: nothing is acknowledged that is not stored.
		cfg.ConnectTimeout = 5 * time.Second
	}
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "tiski"
	}
	writers := o.Writers
	if writers <= 0 {
		writers = 4
	}
	write := stdlib.OpenDB(*cfg)
	write.SetMaxOpenConns(writers)
	write.SetMaxIdleConns(writers)
	// Recycle connections now and then so a PostgreSQL failover or a
	// pooler's rebalancing reaches every node.
	write.SetConnMaxLifetime(30 * time.Minute)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	read := stdlib.OpenDB(*cfg)
	read.SetMaxOpenConns(o.ReadConns)
	read.SetMaxIdleConns(o.ReadConns)
	read.SetConnMaxLifetime(30 * time.Minute)
	read.SetConnMaxIdleTime(5 * time.Minute)
	// A PostgreSQL server that stops answering fails the batch after this
	// long (and no caller is told it was stored) instead of holding it.
	return newDB(Postgres, read, write, writers, 20*time.Second, o), nil
}

// migrationLockKey is the advisory lock nodes take while migrating, so that
// several nodes starting at once apply each migration exactly once. The
// schema name is part of the key: databases shared by several installations
// (one schema each) migrate independently.
const migrationLockSQL = `SELECT pg_advisory_lock(hashtext('tiski.migrate.' || current_schema()))`
const migrationUnlockSQL = `SELECT pg_advisory_unlock(hashtext('tiski.migrate.' || current_schema()))`

// migratePostgres runs the migrations on one connection holding the
// migration lock.
func (d *DB) migratePostgres(ctx context.Context, ms []Migration, now time.Time) (int, error) {
	conn, err := d.write.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, migrationLockSQL); err != nil {
		return 0, fmt.Errorf("take the migration lock: %w", err)
	}
	defer func() {
		// A fresh context: the lock must go even when ctx has ended.
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(uctx, migrationUnlockSQL); err != nil {
			// Closing the session releases it as well.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	return d.applyMigrations(ctx, conn, ms, now)
}

// pgRetryable reports whether err is PostgreSQL telling a transaction to
// try again: a deadlock between committers or a serialization failure.
func pgRetryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40P01" || pe.Code == "40001"
	}
	return false
}

// connLost reports whether err means the PostgreSQL connection of a batch
// broke (the server restarted, failed over or cut the session) rather than
// a statement failing. The batch's own deadline does not count: its
// callers have waited long enough.
func (d *DB) connLost(ctx context.Context, err error) bool {
	if d.Dialect != Postgres || ctx.Err() != nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// 08: connection exception; 57P: operator intervention (shutdown,
		// terminated session).
		return strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57P")
	}
	var ne net.Error
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ne)
}
