package db_test

import (
	"context"
	"database/sql"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"tiski/internal/apperr"
	"tiski/internal/db"
	"tiski/internal/db/dbtest"
)

// TestEveryMigrationExistsForBothEngines: each schema change is written for
// SQLite and for PostgreSQL under the same file name, so neither engine
// falls behind the other.
func TestEveryMigrationExistsForBothEngines(t *testing.T) {
	names := func(dialect string) []string {
		entries, err := os.ReadDir(filepath.Join("migrations", dialect))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			if e.Type()&fs.ModeType == 0 {
				out = append(out, e.Name())
			}
		}
		return out
	}
	lite, pg := names("sqlite"), names("postgres")
	for _, n := range lite {
		if !slices.Contains(pg, n) {
			t.Errorf("migrations/sqlite/%s has no migrations/postgres/%s", n, n)
		}
	}
	for _, n := range pg {
		if !slices.Contains(lite, n) {
			t.Errorf("migrations/postgres/%s has no migrations/sqlite/%s", n, n)
		}
	}
	for _, d := range []db.Dialect{db.SQLite, db.Postgres} {
		if _, err := db.Migrations(d); err != nil {
			t.Errorf("%s: %v", d, err)
		}
	}
	if len(lite) == 0 {
		t.Fatal("no migrations found")
	}
}

// TestPostgresMigratesEveryMigration applies every PostgreSQL migration to
// an empty schema and checks the result against SQLite's tables and
// columns, so the two schemas stay twins.
func TestPostgresSchemaMatchesSQLite(t *testing.T) {
	pg := dbtest.OpenDSN(t, dbtest.PostgresSchema(t))
	lite := sqliteDB(t)
	ctx := context.Background()
	ms, _ := db.Migrations(db.Postgres)
	if v, err := pg.SchemaVersion(ctx); err != nil || v != ms[len(ms)-1].Version {
		t.Fatalf("PostgreSQL schema version %d, want %d: %v", v, ms[len(ms)-1].Version, err)
	}
	cols := func(q db.Querier, query string) map[string]bool {
		rows, err := q.QueryContext(ctx, query)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]bool{}
		for rows.Next() {
			var table, col string
			if err := rows.Scan(&table, &col); err != nil {
				t.Fatal(err)
			}
			out[table+"."+col] = true
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	// Virtual tables (SQLite's full-text index for history search; the
	// PostgreSQL twin is a trigram index) and their shadow tables are
	// engine-specific index structures, not schema.
	want := cols(lite.Read(), `SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
		AND NOT EXISTS (SELECT 1 FROM sqlite_master v WHERE v.type = 'table' AND v.sql LIKE 'CREATE VIRTUAL TABLE%'
			AND (m.name = v.name OR m.name LIKE v.name || '\_%' ESCAPE '\'))`)
	got := cols(pg.Read(), `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema()`)
	for c := range want {
		if !got[c] {
			t.Errorf("PostgreSQL lacks column %s", c)
		}
	}
	for c := range got {
		if !want[c] {
			t.Errorf("SQLite lacks column %s", c)
		}
	}
}

// TestPostgresMigrationLock: nodes starting at once on one database apply
// each migration exactly once between them.
func TestPostgresMigrationLock(t *testing.T) {
	dsn := dbtest.PostgresSchema(t)
	ctx := context.Background()
	ms, _ := db.Migrations(db.Postgres)
	const nodes = 4
	applied := make([]int, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		d, err := db.Open(ctx, dsn, db.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		wg.Add(1)
		go func() {
			defer wg.Done()
			applied[i], errs[i] = d.Migrate(ctx, time.Now().UTC())
		}()
	}
	wg.Wait()
	total := 0
	for i := range nodes {
		if errs[i] != nil {
			t.Fatalf("node %d: %v", i, errs[i])
		}
		total += applied[i]
	}
	if total != len(ms) {
		t.Fatalf("%d migrations applied between the nodes, want %d", total, len(ms))
	}
}

// TestPostgresDeadlockedWritesAreRetried: two committers locking the same
// rows in opposite orders deadlock; PostgreSQL aborts one, and the queue
// runs it again instead of failing the caller.
func TestPostgresDeadlockedWritesAreRetried(t *testing.T) {
	ctx := context.Background()
	d, err := db.Open(ctx, dbtest.PostgresSchema(t), db.Options{Writers: 2, MaxBatch: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(ctx, time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b"} {
		if err := d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ($1, '0')`, k)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	// Each write locks its first row, waits until the other has too, then
	// reaches for the other's row: a deadlock on the first run.
	var both sync.WaitGroup
	both.Add(2)
	var once [2]sync.Once
	write := func(i int, first, second string) error {
		return d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `UPDATE meta SET value = value || '1' WHERE key = $1`, first); err != nil {
				return err
			}
			once[i].Do(func() {
				both.Done()
				both.Wait()
			})
			_, err := tx.ExecContext(ctx, `UPDATE meta SET value = value || '1' WHERE key = $1`, second)
			return err
		})
	}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); errs[0] = write(0, "a", "b") }()
	go func() { defer wg.Done(); errs[1] = write(1, "b", "a") }()
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	if d.Stats().Reruns < 1 {
		t.Fatal("no write was run again: the writes did not deadlock")
	}
	for _, k := range []string{"a", "b"} {
		var v string
		if err := d.Read().QueryRowContext(ctx, `SELECT value FROM meta WHERE key = $1`, k).Scan(&v); err != nil || v != "011" {
			t.Fatalf("%s = %q (want both writes once): %v", k, v, err)
		}
	}
}

// TestPostgresWritesSurviveLostConnections: when PostgreSQL drops every
// connection (a restart, a failover), a write either fails or is stored,
// never acknowledged without being stored, and writing resumes.
func TestPostgresWritesSurviveLostConnections(t *testing.T) {
	ctx := context.Background()
	dsn := dbtest.PostgresSchema(t)
	d, err := db.Open(ctx, dsn+"&application_name=tiski_lost", db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(ctx, time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	admin := dbtest.Admin(t)
	const n = 300
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ($1, 'v')`, "k"+itoa(i))
				return err
			})
		}()
		if i == n/3 || i == 2*n/3 {
			if _, err := admin.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
				WHERE application_name = 'tiski_lost' AND pid <> pg_backend_pid()`); err != nil {
				t.Fatal(err)
			}
		}
	}
	wg.Wait()
	stored := map[string]bool{}
	rows, err := d.Read().QueryContext(ctx, `SELECT key FROM meta`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		stored[k] = true
	}
	rows.Close()
	failed := 0
	for i, err := range errs {
		if err == nil && !stored["k"+itoa(i)] {
			t.Fatalf("write %d was acknowledged but is not stored", i)
		}
		if err != nil {
			failed++
			if !apperr.Is(err, apperr.Unavailable) {
				t.Errorf("write %d failed with %v, want unavailable", i, err)
			}
		}
	}
	t.Logf("%d of %d writes failed while connections were cut", failed, n)
	if err := d.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('after', 'v')`)
		return err
	}); err != nil {
		t.Fatalf("writing did not resume: %v", err)
	}
}

// TestPostgresUnreachable: a database that does not answer is a clear error
// at start, not a hang.
func TestPostgresUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := db.Open(ctx, "postgres://127.0.0.1:1/none?sslmode=disable&connect_timeout=2", db.Options{})
	if err == nil {
		t.Fatal("opened a database nobody serves")
	}
	if _, err := db.Open(ctx, "postgres://[bad", db.Options{}); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("bad URL: %v", err)
	}
}

func itoa(i int) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + i%10)}, b...)
		i /= 10
		if i == 0 {
			return string(b)
		}
	}
}

// TestMetaCreatedOnceAcrossNodes: nodes starting at once agree on one
// value for an installation-wide secret.
func TestMetaCreatedOnceAcrossNodes(t *testing.T) {
	ctx := context.Background()
	url := dbtest.PostgresSchema(t)
	const nodes = 6
	var dbs []*db.DB
	for range nodes {
		d := dbtest.OpenDSN(t, url)
		dbs = append(dbs, d)
	}
	vals := make([]string, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i, d := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			vals[i], errs[i] = d.Meta(ctx, "secret", func() string { return "v" + itoa(i) })
		}()
	}
	wg.Wait()
	for i := range nodes {
		if errs[i] != nil {
			t.Fatalf("node %d: %v", i, errs[i])
		}
		if vals[i] != vals[0] {
			t.Fatalf("node %d has %q, node 0 %q", i, vals[i], vals[0])
		}
	}
}
