package db_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"tiski/internal/apperr"
	"tiski/internal/db"
	"tiski/internal/db/dbtest"
)

func TestMigrateFromEmptyIsIdempotent(t *testing.T) {
	ctx := context.Background()
	d, err := db.Open(ctx, filepath.Join(t.TempDir(), "x.db"), db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ms, err := db.Migrations(db.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	n, err := d.Migrate(ctx, time.Now())
	if err != nil || n != len(ms) {
		t.Fatalf("first migrate applied %d of %d: %v", n, len(ms), err)
	}
	if n, err := d.Migrate(ctx, time.Now()); err != nil || n != 0 {
		t.Fatalf("second migrate applied %d: %v", n, err)
	}
	v, err := d.SchemaVersion(ctx)
	// Numbers may leave gaps: the version is the highest migration's.
	if want := ms[len(ms)-1].Version; err != nil || v != want {
		t.Fatalf("schema version %d, want %d: %v", v, want, err)
	}
}

// sqliteDB opens the embedded engine whichever engine the suite runs on.
func sqliteDB(t *testing.T) *db.DB {
	return dbtest.OpenDSN(t, filepath.Join(t.TempDir(), "tiski.db"))
}

func TestPragmasForDurability(t *testing.T) {
	d := sqliteDB(t)
	ctx := context.Background()
	var mode string
	var sync, fk int
	q := d.Read()
	if err := q.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode %q: %v", mode, err)
	}
	if err := q.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil || sync != 2 {
		t.Fatalf("synchronous %d (want 2, FULL): %v", sync, err)
	}
	if err := q.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Fatalf("foreign_keys %d: %v", fk, err)
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('x', 'y')`); err == nil {
		t.Fatal("the read pool accepted a write")
	}
}

// TestGroupCommitIsolatesFailures: writes committed together succeed or
// fail each on their own; a failing write leaves nothing behind.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	d := dbtest.Open(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 200)
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ($1, 'v')`, "k"+string(rune('a'+i%26))+string(rune('a'+i/26))); err != nil {
					return err
				}
				if i%3 == 0 {
					return apperr.New(apperr.Invalid, "refused %d", i)
				}
				return nil
			})
		}()
	}
	wg.Wait()
	var n int
	if err := d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM meta WHERE value = 'v'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	failed := 0
	for i, err := range errs {
		if i%3 == 0 {
			if !apperr.Is(err, apperr.Invalid) {
				t.Fatalf("write %d: %v", i, err)
			}
			failed++
		} else if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	if n != 200-failed {
		t.Fatalf("%d rows stored, want %d", n, 200-failed)
	}
	st := d.Stats()
	if st.Writes != int64(200-failed) {
		t.Fatalf("stats count %d writes, want %d", st.Writes, 200-failed)
	}
	t.Logf("%d writes in %d commits", st.Writes, st.Commits)
}

func TestWriteAfterCloseIsUnavailable(t *testing.T) {
	d, err := db.Open(context.Background(), filepath.Join(t.TempDir(), "x.db"), db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	err = d.Write(context.Background(), func(context.Context, *sql.Tx) error { return nil })
	if !apperr.Is(err, apperr.Unavailable) {
		t.Fatalf("write after close: %v", err)
	}
}

func TestWritePanicIsContained(t *testing.T) {
	d := dbtest.Open(t)
	err := d.Write(context.Background(), func(context.Context, *sql.Tx) error { panic("boom") })
	if !apperr.Is(err, apperr.Internal) {
		t.Fatalf("panicking write: %v", err)
	}
	if err := d.Write(context.Background(), func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('after', 'ok')`)
		return err
	}); err != nil {
		t.Fatalf("write after a panic: %v", err)
	}
}

func TestBackupIsConsistentCopy(t *testing.T) {
	d := sqliteDB(t)
	ctx := context.Background()
	if _, err := d.Meta(ctx, "answer", func() string { return "42" }); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "backup.db")
	if err := d.Backup(ctx, path); err != nil {
		t.Fatal(err)
	}
	if err := d.Backup(ctx, path); !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("backup over an existing file: %v", err)
	}
	b, err := db.Open(ctx, path, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	v, err := b.Meta(ctx, "answer", func() string { return "other" })
	if err != nil || v != "42" {
		t.Fatalf("backup holds %q: %v", v, err)
	}
}

func TestIsUniqueViolation(t *testing.T) {
	d := dbtest.Open(t)
	ctx := context.Background()
	ins := func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('dup', 'x')`)
		return err
	}
	if err := d.Write(ctx, ins); err != nil {
		t.Fatal(err)
	}
	err := d.Write(ctx, ins)
	if !db.IsUniqueViolation(err) {
		t.Fatalf("duplicate key not recognised: %v", err)
	}
	if db.IsUniqueViolation(errors.New("other")) {
		t.Fatal("plain error taken for a unique violation")
	}
}
