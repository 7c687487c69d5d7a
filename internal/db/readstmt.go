package db

import (
	"context"
	"database/sql"
	"sync"
)

// readPool is the SQLite read pool with its statements kept prepared. The
// pure-Go SQLite compiles a statement in tens of microseconds, as long as
// a small query takes to run: a reconnecting widget's handful of lookups
// was mostly compiling. database/sql prepares a cached *sql.Stmt again on
// each pool connection it meets, so one per query text serves them all.
// (pgx keeps its own per-connection statement cache; PostgreSQL reads use
// the pool as it is.)
type readPool struct {
	*sql.DB
	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

// maxReadStmts bounds the cache: history filters build their WHERE from
// the fields given, so query texts are many but not unbounded; any beyond
// the bound run unprepared.
const maxReadStmts = 512

func newReadPool(db *sql.DB) *readPool {
	return &readPool{DB: db, stmts: map[string]*sql.Stmt{}}
}

// stmt returns query prepared, or nil when it cannot be (the plain call
// then reports the error) or the cache is full.
func (p *readPool) stmt(ctx context.Context, query string) *sql.Stmt {
	p.mu.RLock()
	s, ok := p.stmts[query]
	full := len(p.stmts) >= maxReadStmts
	p.mu.RUnlock()
	if ok || full {
		return s
	}
	s, err := p.DB.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stmts == nil { // closed meanwhile
		s.Close()
		return nil
	}
	if old, ok := p.stmts[query]; ok { // prepared meanwhile by another caller
		s.Close()
		return old
	}
	p.stmts[query] = s
	return s
}

func (p *readPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := p.stmt(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return p.DB.QueryContext(ctx, query, args...)
}

func (p *readPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := p.stmt(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return p.DB.QueryRowContext(ctx, query, args...)
}

// Close closes the statements, then the pool.
func (p *readPool) Close() error {
	p.mu.Lock()
	for _, s := range p.stmts {
		s.Close()
	}
	p.stmts = nil
	p.mu.Unlock()
	return p.DB.Close()
}
