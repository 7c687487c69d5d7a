// Package dbtest opens a fresh, migrated database for a test: SQLite in a
// temp dir by default, or a PostgreSQL schema of its own when
// TISKI_TEST_DB=postgres, so the same store and API tests run on both
// engines.
//
// PostgreSQL is found at TISKI_TEST_PG_URL (default
// postgres://127.0.0.1:5432/test). Outside CI a test that needs it and
// cannot reach it is skipped with a loud message; with CI=true it fails.
package dbtest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"

	"tiski/internal/db"
	"tiski/internal/id"
)

// DefaultPostgresURL is where tests find PostgreSQL unless told otherwise.
const DefaultPostgresURL = "postgres://127.0.0.1:5432/test?sslmode=disable"

// Engine is the engine the store and API tests run on.
func Engine() db.Dialect {
	if strings.EqualFold(os.Getenv("TISKI_TEST_DB"), "postgres") {
		return db.Postgres
	}
	return db.SQLite
}

// Open returns a migrated database on the selected engine that lives as
// long as the test.
func Open(t testing.TB) *db.DB {
	t.Helper()
	dsn := filepath.Join(t.TempDir(), "tiski.db")
	if Engine() == db.Postgres {
		dsn = PostgresSchema(t)
	}
	return OpenDSN(t, dsn)
}

// OpenDSN opens and migrates the database at dsn until the test ends.
func OpenDSN(t testing.TB, dsn string) *db.DB {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, dsn, db.Options{})
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(ctx, time.Now().UTC()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return d
}

// DSN returns a database URL for a server under test: empty (SQLite in
// the server's data directory) or a fresh PostgreSQL schema.
func DSN(t testing.TB) string {
	t.Helper()
	if Engine() == db.Postgres {
		return PostgresSchema(t)
	}
	return ""
}

// PostgresURL returns the base URL of the test PostgreSQL.
func PostgresURL() string {
	if u := os.Getenv("TISKI_TEST_PG_URL"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

var (
	adminOnce sync.Once
	admin     *sql.DB
	adminErr  error
)

// Admin returns a connection pool to the base test database, or skips (or
// in CI fails) the test when PostgreSQL is not reachable.
func Admin(t testing.TB) *sql.DB {
	t.Helper()
	adminOnce.Do(func() {
		admin, adminErr = sql.Open("pgx", PostgresURL())
		if adminErr == nil {
			admin.SetMaxOpenConns(4)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			adminErr = admin.PingContext(ctx)
		}
	})
	if adminErr != nil {
		msg := fmt.Sprintf("PostgreSQL at %s is not reachable: %v", PostgresURL(), adminErr)
		if os.Getenv("CI") == "true" || Engine() == db.Postgres {
			t.Fatal(msg)
		}
		t.Skip("SKIPPING: " + msg + " (set up PostgreSQL to run this test; CI always does)")
	}
	return admin
}

// PostgresSchema creates an empty schema for the test and returns a URL
// whose connections use it; the schema is dropped when the test ends.
func PostgresSchema(t testing.TB) string {
	t.Helper()
	a := Admin(t)
	name := "tiski_t_" + id.Key("")[:16]
	ctx := context.Background()
	if _, err := a.ExecContext(ctx, `CREATE SCHEMA `+name); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := a.ExecContext(context.Background(), `DROP SCHEMA `+name+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return withParam(t, PostgresURL(), "search_path", name)
}

// PostgresDatabase creates an empty database for the test (for several
// processes sharing it) and returns its URL; it is dropped when the test
// ends.
func PostgresDatabase(t testing.TB) string {
	t.Helper()
	a := Admin(t)
	name := "tiski_t_" + id.Key("")[:16]
	ctx := context.Background()
	if _, err := a.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := a.ExecContext(context.Background(), `DROP DATABASE `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

func withParam(t testing.TB, base, k, v string) string {
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("TISKI_TEST_PG_URL: %v", err)
	}
	q := u.Query()
	q.Set(k, v)
	u.RawQuery = q.Encode()
	return u.String()
}
