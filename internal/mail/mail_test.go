package mail_test

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"strings"
	"sync"
	"testing"
	"time"

	"tiski/internal/apperr"
	"tiski/internal/clock"
	"tiski/internal/db"
	"tiski/internal/db/dbtest"
	"tiski/internal/mail"
	"tiski/internal/mail/smtptest"
	"tiski/internal/tenant"
)

func TestSMTPDeliversTextAndHTML(t *testing.T) {
	srv := smtptest.Start(t)
	s := mail.NewSMTP(mail.Config{Host: srv.Host, Port: srv.Port, From: "Kauppa Oy <chat@kauppa.example>", TLS: "none"})
	err := s.Send(context.Background(), mail.Message{To: "asiakas@example.com", ReplyTo: "tuki@kauppa.example",
		Subject: "Keskustelusi — Kauppa", Text: "Hei!\nTässä keskustelusi.", HTML: "<p>Hei!</p><p>Tässä keskustelusi.</p>"})
	if err != nil {
		t.Fatal(err)
	}
	msgs := srv.WaitFor(t, 1, 10*time.Second)
	m := msgs[0]
	dec := new(mime.WordDecoder)
	subject, _ := dec.DecodeHeader(m.Header.Get("Subject"))
	if subject != "Keskustelusi — Kauppa" || m.Header.Get("To") != "asiakas@example.com" || m.Header.Get("Reply-To") != "tuki@kauppa.example" {
		t.Fatalf("headers: %v (subject %q)", m.Header, subject)
	}
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	var parts []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(quotedprintable.NewReader(p))
		parts = append(parts, p.Header.Get("Content-Type")+"|"+string(b))
	}
	if len(parts) != 2 || !strings.Contains(parts[0], "Tässä keskustelusi.") || !strings.Contains(parts[1], "<p>Hei!</p>") {
		t.Fatalf("parts %q", parts)
	}
}

func TestMessageCheckRefusesHeaderInjection(t *testing.T) {
	cases := []mail.Message{
		{To: "a@example.com\r\nBcc: b@example.com", Subject: "x", Text: "x"},
		{To: "a@example.com", Subject: "x\r\nBcc: b@example.com", Text: "x"},
		{To: "a@example.com", ReplyTo: "not an address", Subject: "x", Text: "x"},
		{To: "a@example.com", Subject: "x", Text: "  "},
	}
	for _, m := range cases {
		if err := m.Check(); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("%+v accepted: %v", m, err)
		}
	}
}

type flaky struct {
	mu    sync.Mutex
	fails int
	sent  []mail.Message
}

func (f *flaky) Send(_ context.Context, m mail.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fails > 0 {
		f.fails--
		return errors.New("421 try again later")
	}
	f.sent = append(f.sent, m)
	return nil
}

func enqueue(t *testing.T, d *db.DB, tenantID string, m mail.Message, now time.Time) {
	t.Helper()
	if err := d.Write(context.Background(), func(ctx context.Context, tx *sql.Tx) error {
		return mail.Enqueue(ctx, tx, tenantID, "test", m, now)
	}); err != nil {
		t.Fatal(err)
	}
}

func TestOutboxRetriesThenSendsOnce(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	clk := clock.NewFake(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	tn, err := tenant.NewStore(d, clk).Create(ctx, "Kauppa Oy")
	if err != nil {
		t.Fatal(err)
	}
	enqueue(t, d, tn.ID, mail.Message{To: "a@example.com", Subject: "s", Text: "t"}, clk.Now())
	f := &flaky{fails: 2}
	w := mail.NewWorker(d, f, clk, nil)
	for round := range 2 {
		if n, err := w.DeliverDue(ctx); err != nil || n != 0 {
			t.Fatalf("round %d: sent %d, %v", round, n, err)
		}
		clk.Advance(2 * time.Hour) // past any backoff
	}
	if n, err := w.DeliverDue(ctx); err != nil || n != 1 {
		t.Fatalf("third attempt sent %d: %v", n, err)
	}
	clk.Advance(2 * time.Hour)
	if n, _ := w.DeliverDue(ctx); n != 0 || len(f.sent) != 1 {
		t.Fatalf("sent again: %d, total %d", n, len(f.sent))
	}
	var status string
	var attempts int
	d.Read().QueryRowContext(ctx, `SELECT status, attempts FROM mail_outbox`).Scan(&status, &attempts)
	if status != "sent" || attempts != 3 {
		t.Fatalf("status %s after %d attempts", status, attempts)
	}
}

func TestOutboxGivesUpAfterMaxAttempts(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	clk := clock.NewFake(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	tn, _ := tenant.NewStore(d, clk).Create(ctx, "Kauppa Oy")
	enqueue(t, d, tn.ID, mail.Message{To: "a@example.com", Subject: "s", Text: "t"}, clk.Now())
	w := mail.NewWorker(d, &flaky{fails: 100}, clk, nil)
	w.MaxAttempts = 3
	for range 5 {
		w.DeliverDue(ctx)
		clk.Advance(2 * time.Hour)
	}
	var status, lastErr string
	d.Read().QueryRowContext(ctx, `SELECT status, last_error FROM mail_outbox`).Scan(&status, &lastErr)
	if status != "failed" || !strings.Contains(lastErr, "421") {
		t.Fatalf("status %s, last error %q", status, lastErr)
	}
}

// TestOutboxClaimsAcrossWorkers: two workers (two nodes) never send the
// same message twice.
func TestOutboxClaimsAcrossWorkers(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	clk := clock.NewFake(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	tn, _ := tenant.NewStore(d, clk).Create(ctx, "Kauppa Oy")
	for range 40 {
		enqueue(t, d, tn.ID, mail.Message{To: "a@example.com", Subject: "s", Text: "t"}, clk.Now())
	}
	f := &flaky{}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mail.NewWorker(d, f, clk, nil).DeliverDue(ctx)
		}()
	}
	wg.Wait()
	if len(f.sent) != 40 {
		t.Fatalf("%d sent, want 40", len(f.sent))
	}
}
