package db

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// Prepared statements for the write path. Every message runs the same few
// statements on the one write connection, and parsing each one again was a
// quarter of the write path's CPU. A statement seen inside a group commit is
// prepared on that transaction for the rest of the batch, and once the
// commit has released the connection it is also prepared on the write pool,
// so that later batches only bind and step it (database/sql hands the
// transaction the statement already compiled on its connection, and
// prepares it again by itself if the connection was replaced).
type stmtCache struct {
	mu     sync.Mutex
	pooled map[string]*sql.Stmt // prepared on the write pool
	wanted []string             // seen in a batch, to prepare after it
}

// maxPooledStmts bounds the cache: the write path has a few dozen
// distinct statements; anything beyond that is prepared per batch.
const maxPooledStmts = 256

// txStmts is one batch's view of the cache.
type txStmts struct {
	tx    *sql.Tx
	cache *stmtCache
	m     map[string]*sql.Stmt
}

type txStmtsKey struct{}

func withStmtCache(ctx context.Context, c *txStmts) context.Context {
	return context.WithValue(ctx, txStmtsKey{}, c)
}

// stmt returns query prepared on tx if ctx carries tx's batch cache, or nil
// (the caller then runs the query unprepared).
func stmt(ctx context.Context, tx *sql.Tx, query string) *sql.Stmt {
	c, _ := ctx.Value(txStmtsKey{}).(*txStmts)
	if c == nil || c.tx != tx {
		return nil
	}
	if s := c.m[query]; s != nil {
		return s
	}
	c.cache.mu.Lock()
	ps, known := c.cache.pooled[query]
	if !known && len(c.cache.pooled)+len(c.cache.wanted) < maxPooledStmts {
		c.cache.pooled[query] = nil // reserved: prepared after the commit
		c.cache.wanted = append(c.cache.wanted, query)
	}
	c.cache.mu.Unlock()
	var s *sql.Stmt
	if ps != nil {
		s = tx.StmtContext(ctx, ps)
	} else {
		var err error
		if s, err = tx.PrepareContext(ctx, query); err != nil {
			return nil // the unprepared run reports the error
		}
	}
	c.m[query] = s
	return s
}

// prepareWanted prepares on the write pool the statements that batches
// used for the first time. It runs on the committer between batches, when
// the write connection is free.
func (d *DB) prepareWanted() {
	c := d.stmts
	c.mu.Lock()
	wanted := c.wanted
	c.wanted = nil
	c.mu.Unlock()
	if len(wanted) == 0 {
		return
	}
	// Bounded: a database that is down must not hold the committer long.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, q := range wanted {
		s, err := d.write.PrepareContext(ctx, q)
		c.mu.Lock()
		if err != nil {
			delete(c.pooled, q) // not preparable on its own; try again later
		} else {
			c.pooled[q] = s
		}
		c.mu.Unlock()
	}
}

// Exec runs query in tx; called from a Write function with the ctx it was
// given, the statement is prepared once and reused by later writes.
func Exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if s := stmt(ctx, tx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, query, args...)
}

// QueryRow is Exec for a query returning at most one row.
func QueryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if s := stmt(ctx, tx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, query, args...)
}

// Query is Exec for a query returning rows. The rows must be closed before
// the same query runs again in the batch.
func Query(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	if s := stmt(ctx, tx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return tx.QueryContext(ctx, query, args...)
}
