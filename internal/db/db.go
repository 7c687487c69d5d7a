// Package db opens Tiski's database (embedded SQLite by default, PostgreSQL
// at scale), applies migrations, and runs every write through a group-commit
// queue: concurrent writes share one transaction and one fsync, and each
// caller learns its outcome only after the commit is durable.
//
// Domain packages own their SQL. It is written once in a portable subset
// ($N placeholders, app-generated ids and timestamps, no engine-specific
// functions in DML); only DDL differs per engine (migrations/<dialect>).
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"tiski/internal/apperr"

	_ "modernc.org/sqlite" // registers "sqlite"
)

// Dialect names a database engine.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Querier is what both *sql.DB and *sql.Tx offer; store functions that can
// run inside or outside a transaction take one.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Options tune Open. Zero values pick sane defaults.
type Options struct {
	Logger *slog.Logger
	// MaxBatch caps how many writes share one commit (default 256).
	MaxBatch int
	// Writers is the number of concurrent committers. SQLite has exactly one
	// writer; PostgreSQL may use more (default 4).
	Writers int
	// ReadConns sizes the read pool (default 8).
	ReadConns int
}

// DB is an open database with a read pool and a group-commit write queue.
type DB struct {
	Dialect Dialect
	read    *sql.DB
	reads   Querier // read, with statements kept prepared on SQLite
	write   *sql.DB
	dsn     string // SQLite: for side connections (backups)
	log     *slog.Logger

	maxBatch int
	// batchTimeout bounds one group commit (PostgreSQL; zero: none).
	batchTimeout time.Duration
	ops          chan *op
	mu           sync.RWMutex // guards closing against new writes
	closing      bool
	wg           sync.WaitGroup
	stats        Stats
	statsMu      sync.Mutex
	stmts        *stmtCache // statements of the write path, see stmt.go
}

// Stats counts group commits, for benchmarks and metrics.
type Stats struct {
	Commits int64 // transactions committed
	Writes  int64 // writes committed within them
	// Reruns counts writes run again after PostgreSQL broke their
	// transaction (a deadlock between committers, a lost connection).
	Reruns int64
}

// Open opens the database named by dsn: a postgres:// URL, or a SQLite file
// path (optionally "sqlite:" prefixed). It does not migrate; call Migrate.
func Open(ctx context.Context, dsn string, o Options) (*DB, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 256
	}
	if o.ReadConns <= 0 {
		o.ReadConns = 8
	}
	if IsPostgresURL(dsn) {
		return openPostgres(ctx, dsn, o)
	}
	return openSQLite(ctx, strings.TrimPrefix(dsn, "sqlite:"), o)
}

func openSQLite(ctx context.Context, path string, o Options) (*DB, error) {
	if path == "" {
		return nil, apperr.New(apperr.Invalid, "database path is empty")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create database directory: %w", err)
		}
	}
	q := url.Values{}
	// busy_timeout must come first so the other pragmas wait rather than fail.
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	// FULL syncs the WAL on every commit: an acknowledged message survives
	// power loss, not only a process crash. Group commit pays for it.
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(ON)")
	// Savepoints of a large group commit keep their journal in memory
	// instead of spilling to a temporary file.
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Set("_time_format", "sqlite")
	base := "file:" + path + "?"

	// One write connection: SQLite has a single writer, and IMMEDIATE
	// transactions take the lock up front instead of failing at the first
	// write (SQLITE_BUSY bypasses busy_timeout for deferred upgrades).
	wq := url.Values{}
	for k, v := range q {
		wq[k] = v
	}
	wq.Set("_txlock", "immediate")
	write, err := sql.Open("sqlite", base+wq.Encode())
	if err != nil {
		return nil, err
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}

	rq := url.Values{}
	for k, v := range q {
		rq[k] = v
	}
	rq.Add("_pragma", "query_only(1)")
	read, err := sql.Open("sqlite", base+rq.Encode())
	if err != nil {
		write.Close()
		return nil, err
	}
	read.SetMaxOpenConns(o.ReadConns)
	read.SetMaxIdleConns(o.ReadConns)
	d := newDB(SQLite, read, write, 1, 0, o)
	d.dsn = base + q.Encode()
	return d, nil
}

func newDB(dialect Dialect, read, write *sql.DB, writers int, batchTimeout time.Duration, o Options) *DB {
	d := &DB{
		Dialect:      dialect,
		batchTimeout: batchTimeout,
		read:         read,
		write:        write,
		log:          o.Logger,
		maxBatch:     o.MaxBatch,
		ops:          make(chan *op, 4*o.MaxBatch),
		stmts:        &stmtCache{pooled: map[string]*sql.Stmt{}},
		reads:        read,
	}
	if dialect == SQLite {
		d.reads = newReadPool(read)
	}
	for range writers {
		d.wg.Add(1)
		go d.committer()
	}
	return d
}

// Read returns the read pool. Reads see every write whose Write call has
// returned.
func (d *DB) Read() Querier { return d.reads }

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error {
	if err := d.read.PingContext(ctx); err != nil {
		return err
	}
	return d.write.PingContext(ctx)
}

// Queued is how many writes wait for a committer.
func (d *DB) Queued() int { return len(d.ops) }

// Stats returns group-commit counters.
func (d *DB) Stats() Stats {
	d.statsMu.Lock()
	defer d.statsMu.Unlock()
	return d.stats
}

// Close finishes every queued write, then closes the database. Writes
// attempted after Close has begun fail with Unavailable.
func (d *DB) Close() error {
	d.mu.Lock()
	if d.closing {
		d.mu.Unlock()
		return nil
	}
	d.closing = true
	close(d.ops)
	d.mu.Unlock()
	d.wg.Wait()
	if p, ok := d.reads.(*readPool); ok {
		return errors.Join(d.write.Close(), p.Close())
	}
	return errors.Join(d.write.Close(), d.read.Close())
}

// TimeoutContext returns ctx bounded by d, for callers without a deadline.
func TimeoutContext(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// Backup writes a consistent copy of the database to path while it stays
// in use (SQLite's VACUUM INTO). The file must not exist.
func (d *DB) Backup(ctx context.Context, path string) error {
	if d.Dialect != SQLite {
		return apperr.New(apperr.Unsupported, "back up PostgreSQL with pg_dump")
	}
	if _, err := os.Stat(path); err == nil {
		return apperr.New(apperr.Conflict, "%s exists already", path)
	}
	// VACUUM INTO reads in one transaction: the copy is consistent while
	// writes go on. The read pool is query-only, so use a connection of its own.
	c, err := sql.Open("sqlite", d.dsn)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.ExecContext(ctx, `VACUUM INTO $1`, path)
	return err
}
