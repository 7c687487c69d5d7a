package mail

import (
	"context"
	"database/sql"
	"log/slog"
	"math/rand/v2"
	"time"

	"tiski/internal/clock"
	"tiski/internal/db"
	"tiski/internal/id"
)

// Sender delivers one message (SMTP in production).
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Enqueue stores m in the outbox inside the caller's transaction; the
// worker sends it after the transaction commits. kind names what the mail
// is for (offline_message, transcript, …), for the record.
func Enqueue(ctx context.Context, tx *sql.Tx, tenantID, kind string, m Message, now time.Time) error {
	if err := m.Check(); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO mail_outbox
		(id, tenant_id, to_addr, reply_to, subject, text_body, html_body, kind, status, next_attempt_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $9)`,
		id.New(), tenantID, m.To, m.ReplyTo, m.Subject, m.Text, m.HTML, kind, now)
	return err
}

// Worker delivers the outbox. Several nodes may run one: each message is
// claimed with a conditional update before it is sent.
type Worker struct {
	db     *db.DB
	sender Sender
	clock  clock.Clock
	log    *slog.Logger
	// MaxAttempts before a message is given up as failed.
	MaxAttempts int
	wake        chan struct{}
}

// NewWorker returns a worker sending with s.
func NewWorker(d *db.DB, s Sender, c clock.Clock, log *slog.Logger) *Worker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Worker{db: d, sender: s, clock: c, log: log, MaxAttempts: 8, wake: make(chan struct{}, 1)}
}

// Wake asks the worker to look at the outbox now (after an Enqueue).
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run delivers due mail until ctx ends, checking at least every interval.
func (w *Worker) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := w.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			w.log.Warn("mail outbox", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.wake:
		}
	}
}

// claimFor is how long a node owns a message it is sending; if it dies,
// another node retries after that.
const claimFor = 5 * time.Minute

// DeliverDue sends every message that is due and returns how many were sent.
func (w *Worker) DeliverDue(ctx context.Context) (int, error) {
	now := w.clock.Now()
	rows, err := w.db.Read().QueryContext(ctx, `SELECT id FROM mail_outbox
		WHERE (status = 'pending' AND next_attempt_at <= $1) OR (status = 'sending' AND claimed_until < $1)
		ORDER BY next_attempt_at LIMIT 50`, now)
	if err != nil {
		return 0, err
	}
	var ids []string
	for rows.Next() {
		var i string
		if err := rows.Scan(&i); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, i)
	}
	rows.Close()
	sent := 0
	for _, mid := range ids {
		ok, err := w.deliver(ctx, mid)
		if err != nil {
			return sent, err
		}
		if ok {
			sent++
		}
	}
	return sent, nil
}

func (w *Worker) deliver(ctx context.Context, mid string) (bool, error) {
	now := w.clock.Now()
	var m Message
	var attempts int
	claimed := false
	err := w.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE mail_outbox SET status = 'sending', claimed_until = $1
			WHERE id = $2 AND ((status = 'pending' AND next_attempt_at <= $3) OR (status = 'sending' AND claimed_until < $3))`,
			now.Add(claimFor), mid, now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil // another node has it, or it is done
		}
		claimed = true
		return tx.QueryRowContext(ctx, `SELECT to_addr, reply_to, subject, text_body, html_body, attempts FROM mail_outbox WHERE id = $1`, mid).
			Scan(&m.To, &m.ReplyTo, &m.Subject, &m.Text, &m.HTML, &attempts)
	})
	if err != nil || !claimed {
		return false, err
	}
	sendErr := w.sender.Send(ctx, m)
	now = w.clock.Now()
	return sendErr == nil, w.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if sendErr == nil {
			_, err := tx.ExecContext(ctx, `UPDATE mail_outbox SET status = 'sent', sent_at = $1, attempts = attempts + 1, last_error = '' WHERE id = $2`, now, mid)
			return err
		}
		attempts++
		status := "pending"
		if attempts >= w.MaxAttempts {
			status = "failed"
		}
		w.log.Warn("sending mail failed", "id", mid, "attempt", attempts, "err", sendErr)
		msg := sendErr.Error()
		if len(msg) > 500 {
			msg = msg[:500]
		}
		_, err := tx.ExecContext(ctx, `UPDATE mail_outbox SET status = $1, attempts = $2, next_attempt_at = $3, last_error = $4 WHERE id = $5`,
			status, attempts, now.Add(backoff(attempts)), msg, mid)
		return err
	})
}

// backoff is exponential with full jitter: up to 30 s, 1 min, 2 min, … 1 h.
func backoff(attempt int) time.Duration {
	ceil := 30 * time.Second << min(attempt-1, 7)
	if ceil > time.Hour {
		ceil = time.Hour
	}
	return time.Duration(rand.Int64N(int64(ceil))) + time.Second
}
