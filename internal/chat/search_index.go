package chat

import (
	"context"
	"database/sql"
	"time"

	"tiski/internal/db"
)

// searchIndexBatch is how many queued messages one write moves into the
// full-text index: large enough that FTS5 builds one segment from many
// rows, small enough that the write does not hold up messages behind it.
const searchIndexBatch = 2000

// IndexSearch moves queued message text into SQLite's full-text index
// (migration 0017) and returns how many rows it moved. Searches read the
// queue too, so this is about speed, not visibility. PostgreSQL indexes
// on insert; there it does nothing.
func (s *Service) IndexSearch(ctx context.Context) (int, error) {
	if s.db.Dialect != db.SQLite {
		return 0, nil
	}
	var moved int
	err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		moved = 0
		var last sql.NullInt64
		if err := db.QueryRow(ctx, tx, `SELECT MAX(id) FROM (SELECT id FROM messages_search_pending ORDER BY id LIMIT $1)`,
			searchIndexBatch).Scan(&last); err != nil || !last.Valid {
			return err
		}
		if _, err := db.Exec(ctx, tx, `INSERT INTO messages_search (body_lc, conversation_id)
			SELECT body_lc, conversation_id FROM messages_search_pending WHERE id <= $1 ORDER BY id`, last.Int64); err != nil {
			return err
		}
		res, err := db.Exec(ctx, tx, `DELETE FROM messages_search_pending WHERE id <= $1`, last.Int64)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		moved = int(n)
		return err
	})
	return moved, err
}

// RunSearchIndexer keeps the full-text index caught up until ctx ends:
// every interval, and at once again while a full batch was moved.
func (s *Service) RunSearchIndexer(ctx context.Context, every time.Duration, warn func(error)) {
	if s.db.Dialect != db.SQLite {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := s.IndexSearch(ctx)
		if err != nil && ctx.Err() == nil {
			warn(err)
		}
		if err == nil && n == searchIndexBatch {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
