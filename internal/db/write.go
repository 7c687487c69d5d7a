package db

import (
	"context"
	"database/sql"
	"errors"

	"tiski/internal/apperr"
)

// TxFunc does the work of one write inside a transaction. It must not touch
// anything outside the transaction that it cannot undo: its effects become
// real only when Write returns nil. It may run inside a savepoint shared
// with other writes, so it must not commit or roll back itself.
type TxFunc func(ctx context.Context, tx *sql.Tx) error

type op struct {
	ctx  context.Context
	fn   TxFunc
	done chan error
	// tries counts runs that PostgreSQL asked to repeat (deadlocks
	// between committers).
	tries int
}

// maxTries bounds how often a write that lost a deadlock is run again.
const maxTries = 5

// Write runs fn in a transaction and returns once its outcome is durable:
// nil means committed (and synced, on SQLite), an error means nothing of fn
// was written. Concurrent writes are grouped into one commit; each runs in
// its own savepoint so that one failing write does not undo the others.
//
// If ctx ends while the write waits in the queue, the write is skipped and
// ctx's error returned. Once it has started, Write waits for the commit even
// if ctx ends, so the caller never mistakes a committed write for a failed one.
func (d *DB) Write(ctx context.Context, fn TxFunc) error {
	o := &op{ctx: ctx, fn: fn, done: make(chan error, 1)}
	d.mu.RLock()
	if d.closing {
		d.mu.RUnlock()
		return apperr.New(apperr.Unavailable, "the server is shutting down")
	}
	select {
	case d.ops <- o:
	case <-ctx.Done():
		d.mu.RUnlock()
		return ctx.Err()
	}
	d.mu.RUnlock()
	return <-o.done
}

func (d *DB) committer() {
	defer d.wg.Done()
	batch := make([]*op, 0, d.maxBatch)
	for first := range d.ops {
		batch = append(batch[:0], first)
	fill:
		for len(batch) < d.maxBatch {
			select {
			case o, ok := <-d.ops:
				if !ok {
					break fill
				}
				batch = append(batch, o)
			default:
				break fill
			}
		}
		d.commit(batch)
	}
}

// commit runs one batch in a single transaction.
func (d *DB) commit(batch []*op) {
	// Statements run without the callers' cancellation: a cancelled context
	// interrupting SQLite mid-transaction would poison the shared batch.
	ctx := context.Background()
	if d.batchTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.batchTimeout)
		defer cancel()
	}
	var retry, rerun []*op
	defer func() {
		if n := len(retry) + len(rerun); n > 0 {
			d.statsMu.Lock()
			d.stats.Reruns += int64(n)
			d.statsMu.Unlock()
		}
		// Writes that lost a deadlock run again, each on its own; a batch
		// whose connection broke before its commit runs again as a whole.
		for _, o := range retry {
			d.commit([]*op{o})
		}
		if len(rerun) > 0 {
			d.commit(rerun)
		}
	}()
	// lost ends a batch whose PostgreSQL connection broke before COMMIT:
	// nothing of it was written, so its writes may run again.
	lost := func(tx *sql.Tx, ops []*op, cause error) {
		_ = tx.Rollback()
		err := apperr.Wrap(apperr.Unavailable, cause, "the database is unavailable")
		for _, o := range ops {
			if o.tries++; o.tries <= maxTries {
				rerun = append(rerun, o)
			} else {
				o.done <- err
			}
		}
		d.log.Warn("database connection lost; running the batch again", "writes", len(rerun), "err", cause)
	}
	tx, err := d.write.BeginTx(ctx, nil)
	if err != nil {
		err = apperr.Wrap(apperr.Unavailable, err, "the database is unavailable")
		for _, o := range batch {
			o.done <- err
		}
		return
	}
	useSavepoints := len(batch) > 1
	stmts := &txStmts{tx: tx, cache: d.stmts, m: map[string]*sql.Stmt{}}
	defer d.prepareWanted() // after the commit or rollback below
	ok := batch[:0:0]
	for i, o := range batch {
		if err := o.ctx.Err(); err != nil {
			o.done <- err // never started: nothing written
			continue
		}
		if useSavepoints {
			if _, err := Exec(withStmtCache(ctx, stmts), tx, "SAVEPOINT w"); err != nil {
				if d.connLost(ctx, err) {
					lost(tx, append(ok, batch[i:]...), err)
					return
				}
				d.abort(tx, batch[i:], ok, err)
				return
			}
		}
		fnErr := runFn(withStmtCache(context.WithoutCancel(o.ctx), stmts), tx, o.fn)
		if fnErr != nil && d.connLost(ctx, fnErr) {
			lost(tx, append(ok, batch[i:]...), fnErr)
			return
		}
		if fnErr != nil && ctx.Err() != nil {
			// The batch ran out of time: the transaction is dead.
			d.abort(tx, batch[i:], ok, fnErr)
			return
		}
		again := fnErr != nil && pgRetryable(fnErr) && o.tries < maxTries
		if again {
			o.tries++
		}
		if fnErr != nil {
			if !useSavepoints {
				_ = tx.Rollback()
				if again {
					retry = append(retry, o)
				} else {
					o.done <- fnErr
				}
				return
			}
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT w"); err != nil {
				if d.connLost(ctx, err) {
					if !again {
						o.done <- fnErr
					}
					lost(tx, append(ok, batch[i+1:]...), err)
					if again {
						retry = append(retry, o)
					}
					return
				}
				o.done <- fnErr
				d.abort(tx, batch[i+1:], ok, err)
				return
			}
			if again {
				retry = append(retry, o)
			} else {
				o.done <- fnErr
			}
		} else {
			ok = append(ok, o)
		}
		if useSavepoints {
			if _, err := Exec(withStmtCache(ctx, stmts), tx, "RELEASE SAVEPOINT w"); err != nil {
				if d.connLost(ctx, err) {
					lost(tx, append(ok, batch[i+1:]...), err)
					return
				}
				d.abort(tx, batch[i+1:], ok, err)
				return
			}
		}
	}
	if err := tx.Commit(); err != nil {
		err = apperr.Wrap(apperr.Unavailable, err, "the write could not be committed")
		for _, o := range ok {
			o.done <- err
		}
		return
	}
	d.statsMu.Lock()
	d.stats.Commits++
	d.stats.Writes += int64(len(ok))
	d.statsMu.Unlock()
	for _, o := range ok {
		o.done <- nil
	}
}

// runFn turns a panic in fn into an error so that one bad write cannot take
// down the committer and every write queued behind it.
func runFn(ctx context.Context, tx *sql.Tx, fn TxFunc) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = apperr.New(apperr.Internal, "write panicked: %v", r)
		}
	}()
	return fn(ctx, tx)
}

// abort rolls the batch back after the transaction itself broke: every write
// in it, done or not, fails.
func (d *DB) abort(tx *sql.Tx, rest, done []*op, cause error) {
	_ = tx.Rollback()
	d.log.Error("write batch aborted", "err", cause)
	err := apperr.Wrap(apperr.Unavailable, cause, "the database is unavailable")
	for _, o := range done {
		o.done <- err
	}
	for _, o := range rest {
		o.done <- err
	}
}

// IsUniqueViolation reports whether err is a unique or primary key conflict.
func IsUniqueViolation(err error) bool {
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		switch coded.Code() {
		case 2067, 1555: // SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY
			return true
		}
	}
	var pg interface{ SQLState() string }
	if errors.As(err, &pg) {
		return pg.SQLState() == "23505"
	}
	return false
}
