package db

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

func TestReadPoolKeepsStatementsPrepared(t *testing.T) {
	ctx := context.Background()
	d, err := Open(ctx, filepath.Join(t.TempDir(), "r.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	p, ok := d.Read().(*readPool)
	if !ok {
		t.Fatalf("SQLite reads do not go through the statement cache: %T", d.Read())
	}
	// Many readers at once, one query text: one statement, right answers.
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for j := range 50 {
				var got int
				if err := d.Read().QueryRowContext(ctx, `SELECT $1 + $2`, i, j).Scan(&got); err != nil || got != i+j {
					t.Errorf("%d+%d = %d: %v", i, j, got, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := len(p.stmts); n != 1 {
		t.Fatalf("%d statements cached for one query text", n)
	}
	rows, err := d.Read().QueryContext(ctx, `SELECT value FROM json_each('[1,2,3]')`)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0
	for rows.Next() {
		var v int
		rows.Scan(&v)
		sum += v
	}
	rows.Close()
	if sum != 6 {
		t.Fatalf("rows summed to %d", sum)
	}
	// Bad SQL reports its error and is not kept.
	if err := d.Read().QueryRowContext(ctx, `SELEC 1`).Scan(new(int)); err == nil {
		t.Fatal("bad SQL ran")
	}
	if _, ok := p.stmts[`SELEC 1`]; ok {
		t.Fatal("bad SQL cached")
	}
	// Past the bound, queries still run, unprepared.
	for i := range maxReadStmts + 10 {
		var got int
		if err := d.Read().QueryRowContext(ctx, fmt.Sprintf(`SELECT %d`, i)).Scan(&got); err != nil || got != i {
			t.Fatalf("query %d: %d %v", i, got, err)
		}
	}
	if n := len(p.stmts); n > maxReadStmts {
		t.Fatalf("%d statements cached, bound %d", n, maxReadStmts)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Read().QueryRowContext(ctx, `SELECT $1 + $2`, 1, 2).Scan(new(int)); err == nil {
		t.Fatal("a read after Close succeeded")
	}
}
