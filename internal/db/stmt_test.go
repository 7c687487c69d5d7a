package db_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"

	"tiski/internal/db"
	"tiski/internal/db/dbtest"
)

// Prepared statements are reused within and across group commits, a
// failing write's savepoint rollback leaves them usable, and writes outside
// a batch's context still run (unprepared).
func TestPreparedStatementsAcrossBatches(t *testing.T) {
	d := dbtest.Open(t)
	ctx := context.Background()
	const ins = `INSERT INTO meta (key, value) VALUES ($1, $2)`
	write := func(key string) error {
		return d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			if _, err := db.Exec(ctx, tx, ins, key, "v"); err != nil {
				return err
			}
			var n int
			if err := db.QueryRow(ctx, tx, `SELECT COUNT(*) FROM meta WHERE key = $1`, key).Scan(&n); err != nil {
				return err
			}
			if n != 1 {
				return fmt.Errorf("%s: %d rows inside the write", key, n)
			}
			return nil
		})
	}
	// Several rounds of concurrent writes, so that batches of one and of
	// many use the statements first prepared in an earlier batch; every
	// fifth key repeats an earlier one and must fail alone.
	for round := range 4 {
		var wg sync.WaitGroup
		errs := make([]error, 40)
		for i := range 40 {
			wg.Go(func() {
				key := fmt.Sprintf("k%d-%d", round, i)
				if i%5 == 4 {
					key = fmt.Sprintf("k%d-%d", round, i-1)
				}
				errs[i] = write(key)
			})
		}
		wg.Wait()
		failed := 0
		for i, err := range errs {
			if err != nil {
				failed++
				if !db.IsUniqueViolation(err) {
					t.Fatalf("round %d write %d: %v", round, i, err)
				}
			}
		}
		if failed != 8 {
			t.Fatalf("round %d: %d writes failed, want the 8 repeated keys", round, failed)
		}
	}
	var n int
	if err := d.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM meta WHERE key LIKE 'k%'`).Scan(&n); err != nil || n != 4*32 {
		t.Fatalf("%d rows stored, want %d: %v", n, 4*32, err)
	}
	// Rows of a prepared query can be read to the end and the query run again.
	err := d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for range 2 {
			rows, err := db.Query(ctx, tx, `SELECT key FROM meta WHERE key LIKE $1 ORDER BY key`, "k0-%")
			if err != nil {
				return err
			}
			got := 0
			for rows.Next() {
				got++
			}
			rows.Close()
			if got != 8*4 {
				return fmt.Errorf("%d rows", got)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Outside a Write (no batch in ctx) the helpers fall back to the plain call.
	tx, err := d.ReadPool().BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := db.QueryRow(ctx, tx, `SELECT COUNT(*) FROM meta`).Scan(&n); err != nil || n == 0 {
		t.Fatalf("plain QueryRow: %d %v", n, err)
	}
	if _, err := db.Exec(ctx, tx, `NOT SQL`); err == nil || errors.Is(err, sql.ErrTxDone) {
		t.Fatalf("bad SQL: %v", err)
	}
}
