package httpapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"tiski/client"
	"tiski/internal/clock"
	"tiski/internal/testsrv"
)

// recorder is an HTTP transport that keeps every answer's body.
type recorder struct {
	mu   sync.Mutex
	seen []recorded
}

type recorded struct {
	method, path string
	body         []byte
}

func (rec *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	rec.mu.Lock()
	rec.seen = append(rec.seen, recorded{method: req.Method, path: req.URL.Path, body: body})
	rec.mu.Unlock()
	return resp, nil
}

func (rec *recorder) since(i int) []recorded {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]recorded(nil), rec.seen[i:]...)
}

func (rec *recorder) len() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return len(rec.seen)
}

// jsonKeys lists every object key in a JSON document, at any depth.
func jsonKeys(data []byte) []string {
	var v any
	if json.Unmarshal(data, &v) != nil {
		return nil
	}
	var keys []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				keys = append(keys, k)
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
	return keys
}

func seqs(ms []client.Message) []int64 {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.Seq
	}
	return out
}

func TestWidgetVisitorJourney(t *testing.T) {
	fc := clock.NewFake(worldStart)
	env := testsrv.Start(t, testsrv.Options{Clock: fc})
	ctx := ctxT(t)
	rec := &recorder{}
	c := client.New(env.URL, testsrv.ShopOrigin)
	c.HTTP.Transport = rec

	// A visitor is created with a token, shown this once.
	v, err := c.NewVisitor(ctx, env.Site.WidgetKey, "fi")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(v.Token, "v_") || len(v.Token) < 40 || v.ID == "" {
		t.Fatalf("new visitor %+v", v)
	}
	if first := rec.since(0); len(first) != 1 || !bytes.Contains(first[0].body, []byte(v.Token)) {
		t.Fatalf("creation answer does not carry the token")
	}
	afterCreation := rec.len()

	type visitorView struct {
		ID         string            `json:"id"`
		Name       string            `json:"name"`
		Email      string            `json:"email"`
		Language   string            `json:"language"`
		Attributes map[string]string `json:"attributes"`
	}
	type me struct {
		Visitor      visitorView          `json:"visitor"`
		Conversation *client.Conversation `json:"conversation"`
	}
	var m me
	if err := v.Do(ctx, "GET", "/me", nil, &m); err != nil {
		t.Fatal(err)
	}
	if m.Visitor.ID != v.ID || m.Visitor.Language != "fi" || m.Conversation != nil {
		t.Fatalf("GET /me: %+v", m)
	}

	// Profile.
	var prof visitorView
	err = v.Do(ctx, "PATCH", "/me", map[string]any{"name": "  Maija Meikäläinen ", "email": "Maija@Example.COM",
		"attributes": map[string]string{"cart": "3 tuotetta", "page": "/kengat"}}, &prof)
	if err != nil {
		t.Fatal(err)
	}
	if prof.Name != "Maija Meikäläinen" || prof.Email != "maija@example.com" || prof.Attributes["cart"] != "3 tuotetta" {
		t.Fatalf("profile answer %+v", prof)
	}
	if err := v.Do(ctx, "PATCH", "/me", map[string]any{"attributes": map[string]string{"page": ""}, "language": "sv"}, &prof); err != nil {
		t.Fatal(err)
	}
	if err := v.Do(ctx, "GET", "/me", nil, &m); err != nil {
		t.Fatal(err)
	}
	if m.Visitor.Name != "Maija Meikäläinen" || m.Visitor.Language != "sv" || len(m.Visitor.Attributes) != 1 || m.Visitor.Attributes["cart"] != "3 tuotetta" {
		t.Fatalf("profile not stored: %+v", m.Visitor)
	}

	// Start a conversation: it is open, and starting again returns it.
	var conv client.Conversation
	if err := v.Do(ctx, "POST", "/conversations", nil, &conv); err != nil {
		t.Fatal(err)
	}
	if conv.ID == "" || conv.Status != "open" || conv.LastSeq != 0 {
		t.Fatalf("started %+v", conv)
	}
	var again client.Conversation
	if err := v.Do(ctx, "POST", "/conversations", map[string]string{}, &again); err != nil || again.ID != conv.ID {
		t.Fatalf("second start: %+v %v", again, err)
	}
	if err := v.Do(ctx, "GET", "/me", nil, &m); err != nil || m.Conversation == nil || m.Conversation.ID != conv.ID {
		t.Fatalf("GET /me after start: %+v %v", m, err)
	}

	// Seven messages, an agent joins, writes a note and a reply.
	for i := range 7 {
		fc.Advance(time.Second)
		if ack := sendText(t, v, conv.ID, "m"+string(rune('a'+i)), "viesti "+string(rune('A'+i))); ack.Seq != int64(i+1) || ack.Conv != conv.ID {
			t.Fatalf("ack %d: %+v", i, ack)
		}
	}
	agent, err := c.Login(ctx, env.Agents[0].Email, testsrv.Password)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := agent.Take(ctx, conv.ID); err != nil {
		t.Fatal(err)
	}
	for _, f := range []map[string]any{
		{"t": "send", "id": "n1", "conv": conv.ID, "kind": "note", "body": "sisäinen muistiinpano"},
		{"t": "send", "id": "r1", "conv": conv.ID, "body": "Hei Maija, autan mielelläni."},
	} {
		var replies []client.Frame
		if err := agent.Do(ctx, "POST", "/rt/frames", f, &replies); err != nil || len(replies) != 1 || replies[0].T != "ack" {
			t.Fatalf("agent frame: %+v %v", replies, err)
		}
	}

	// Paging through the visitor's stream: numbered 1…9, without the note.
	page := func(after int64, limit int) []client.Message {
		ms, err := v.Messages(ctx, conv.ID, after, limit)
		if err != nil {
			t.Fatal(err)
		}
		return ms
	}
	if got := seqs(page(0, 3)); !equalInts(got, 1, 2, 3) {
		t.Fatalf("page 1: %v", got)
	}
	if got := seqs(page(3, 3)); !equalInts(got, 4, 5, 6) {
		t.Fatalf("page 2: %v", got)
	}
	last := page(6, 100)
	if got := seqs(last); !equalInts(got, 7, 8, 9) {
		t.Fatalf("page 3: %v", got)
	}
	if last[0].Body != "viesti G" || last[0].CMID != "mg" || last[1].Kind != "event" || last[1].Event != "joined" ||
		last[2].Body != "Hei Maija, autan mielelläni." || last[2].From.Kind != "agent" || last[2].CMID != "" {
		t.Fatalf("last page: %+v", last)
	}
	if got := page(9, 10); len(got) != 0 {
		t.Fatalf("after the end: %v", seqs(got))
	}
	var all struct {
		Conversation client.Conversation `json:"conversation"`
		Messages     []client.Message    `json:"messages"`
	}
	if err := v.Do(ctx, "GET", "/conversations/"+conv.ID+"/messages", nil, &all); err != nil {
		t.Fatal(err)
	}
	if len(all.Messages) != 9 || all.Conversation.LastSeq != 9 {
		t.Fatalf("default page: %d messages, last_seq %d", len(all.Messages), all.Conversation.LastSeq)
	}
	for _, msg := range all.Messages {
		if msg.Kind == "note" || strings.Contains(msg.Body, "sisäinen") {
			t.Fatalf("the visitor sees a note: %+v", msg)
		}
	}
	if ms, _ := agent.Messages(ctx, conv.ID, 0, 100); len(ms) != 10 || ms[8].Kind != "note" {
		t.Fatalf("agent stream: %d messages", len(ms))
	}

	// Close and rate; the rating reaches the console.
	if err := v.Close(ctx, conv.ID); err != nil {
		t.Fatal(err)
	}
	if err := v.Do(ctx, "GET", "/me", nil, &m); err != nil || m.Conversation != nil {
		t.Fatalf("GET /me after close: %+v %v", m.Conversation, err)
	}
	if err := v.Close(ctx, conv.ID); err != nil {
		t.Fatalf("closing twice: %v", err)
	}
	if err := v.Rate(ctx, conv.ID, "neutral", ""); err != nil {
		t.Fatal(err)
	}
	fc.Advance(time.Minute)
	if err := v.Rate(ctx, conv.ID, "good", "Nopeaa ja ystävällistä palvelua 😊"); err != nil {
		t.Fatal(err)
	}
	var detail struct {
		Conversation client.Conversation `json:"conversation"`
		Visitor      visitorView         `json:"visitor"`
		Rating       *struct {
			Score   string `json:"score"`
			Comment string `json:"comment"`
			AgentID string `json:"agent_id"`
		} `json:"rating"`
	}
	if err := agent.Do(ctx, "GET", "/conversations/"+conv.ID, nil, &detail); err != nil {
		t.Fatal(err)
	}
	if detail.Rating == nil || detail.Rating.Score != "good" || detail.Rating.Comment != "Nopeaa ja ystävällistä palvelua 😊" ||
		detail.Rating.AgentID != env.Agents[0].ID || detail.Conversation.Status != "closed" || detail.Conversation.ClosedBy != "visitor" ||
		detail.Visitor.Email != "maija@example.com" {
		t.Fatalf("console view of the rated conversation: %+v rating %+v", detail, detail.Rating)
	}

	// Writing again starts a new conversation linked to the old one; both
	// are in the visitor's history, newest first, and in the console's.
	fc.Advance(time.Hour)
	next := sendText(t, v, "", "again-1", "Vielä yksi kysymys").Conv
	if next == conv.ID {
		t.Fatal("a message after close went to the closed conversation")
	}
	hist, err := v.Conversations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].ID != next || hist[1].ID != conv.ID || hist[0].PreviousID != conv.ID ||
		hist[0].Status != "queued" || hist[1].Status != "closed" {
		t.Fatalf("visitor history %+v", hist)
	}
	var agentHist struct {
		Conversations []client.Conversation `json:"conversations"`
	}
	if err := agent.Do(ctx, "GET", "/visitors/"+v.ID+"/conversations", nil, &agentHist); err != nil {
		t.Fatal(err)
	}
	if len(agentHist.Conversations) != 2 || agentHist.Conversations[0].ID != next {
		t.Fatalf("console history %+v", agentHist.Conversations)
	}

	// No answer after the first ever shows the visitor's token.
	later := rec.since(afterCreation)
	if len(later) < 20 {
		t.Fatalf("only %d answers recorded", len(later))
	}
	for _, r := range later {
		if bytes.Contains(r.body, []byte(v.Token)) || bytes.Contains(r.body, []byte(v.Token[2:])) {
			t.Fatalf("%s %s shows the visitor token: %s", r.method, r.path, r.body)
		}
		if !strings.HasPrefix(r.path, "/api/widget/") {
			continue
		}
		for _, k := range jsonKeys(r.body) {
			if strings.Contains(strings.ToLower(k), "token") {
				t.Fatalf("%s %s has a field %q: %s", r.method, r.path, k, r.body)
			}
		}
	}
}

func equalInts(got []int64, want ...int64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

func TestWidgetFiles(t *testing.T) {
	fc := clock.NewFake(worldStart)
	env := testsrv.Start(t, testsrv.Options{Clock: fc})
	ctx := ctxT(t)
	c := client.New(env.URL, testsrv.ShopOrigin)
	v, err := c.NewVisitor(ctx, env.Site.WidgetKey, "fi")
	if err != nil {
		t.Fatal(err)
	}
	conv := sendText(t, v, "", "m1", "Tässä kuva").Conv
	get := func(path string) reply { return send(t, env.URL, "GET", path, nil) }
	png := pngBytes(t)

	t.Run("image is served inline, sandboxed", func(t *testing.T) {
		ack, err := v.Upload(ctx, conv, "img-1", "kuva.png", png)
		if err != nil {
			t.Fatal(err)
		}
		f := ack.M.File
		if ack.Dup || ack.Conv != conv || ack.Seq != 2 || f == nil || f.Type != "image/png" || f.Name != "kuva.png" || f.Size != int64(len(png)) {
			t.Fatalf("ack %+v file %+v", ack, f)
		}
		r := get(f.URL)
		if r.status != 200 || !bytes.Equal(r.body, png) {
			t.Fatalf("download: %d, %d bytes", r.status, len(r.body))
		}
		h := r.header
		if h.Get("Content-Type") != "image/png" || h.Get("X-Content-Type-Options") != "nosniff" ||
			!strings.Contains(h.Get("Content-Security-Policy"), "sandbox") || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
			t.Fatalf("download headers %v", h)
		}
		disp, params, err := mime.ParseMediaType(h.Get("Content-Disposition"))
		if err != nil || disp != "inline" || params["filename"] != "kuva.png" {
			t.Fatalf("Content-Disposition %q", h.Get("Content-Disposition"))
		}
		// The agent gets a working link too.
		agent, err := c.Login(ctx, env.Agents[0].Email, testsrv.Password)
		if err != nil {
			t.Fatal(err)
		}
		ms, err := agent.Messages(ctx, conv, 0, 10)
		if err != nil || len(ms) != 2 || ms[1].File == nil || ms[1].File.ID != f.ID {
			t.Fatalf("agent messages %+v %v", ms, err)
		}
		if r := get(ms[1].File.URL); r.status != 200 || !bytes.Equal(r.body, png) {
			t.Fatalf("agent download: %d", r.status)
		}
	})

	t.Run("non-ASCII name", func(t *testing.T) {
		name := "kesä \"loma\" ☀️ kuva.png"
		ack, err := v.Upload(ctx, conv, "img-2", name, png)
		if err != nil {
			t.Fatal(err)
		}
		want := "kesä loma ☀️ kuva.png"
		if ack.M.File.Name != want {
			t.Fatalf("stored name %q, want %q", ack.M.File.Name, want)
		}
		cd := get(ack.M.File.URL).header.Get("Content-Disposition")
		if disp, params, err := mime.ParseMediaType(cd); err != nil || disp != "inline" || params["filename"] != want {
			t.Fatalf("Content-Disposition %q: %v %v", cd, params, err)
		}
	})

	t.Run("PDF is served as an attachment", func(t *testing.T) {
		ack, err := v.Upload(ctx, conv, "pdf-1", "lasku.png", pdfBytes)
		if err != nil {
			t.Fatal(err)
		}
		if ack.M.File.Type != "application/pdf" || !strings.HasSuffix(ack.M.File.Name, ".pdf") {
			t.Fatalf("PDF stored as %+v", ack.M.File)
		}
		r := get(ack.M.File.URL)
		disp, params, err := mime.ParseMediaType(r.header.Get("Content-Disposition"))
		if r.status != 200 || r.header.Get("Content-Type") != "application/pdf" || err != nil || disp != "attachment" ||
			params["filename"] != ack.M.File.Name || !bytes.Equal(r.body, pdfBytes) {
			t.Fatalf("PDF download: %d %v", r.status, r.header)
		}
	})

	t.Run("HTML and SVG are refused", func(t *testing.T) {
		before := storedFiles(t, env)
		for name, data := range map[string][]byte{
			"sivu.html":  []byte("<html><body onload=alert(1)>hei</body></html>"),
			"kuva.png":   []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`),
			"kuva.svg":   []byte(`<?xml version="1.0" encoding="UTF-8"?><svg xmlns="http://www.w3.org/2000/svg"/>`),
			"teksti.txt": []byte("pelkkää tekstiä"),
		} {
			_, err := v.Upload(ctx, conv, "bad-"+strings.ReplaceAll(name, ".", "-"), name, data)
			var ae *client.Error
			if !errors.As(err, &ae) || ae.Status != 415 || ae.Code != "unsupported" {
				t.Fatalf("%s: %v", name, err)
			}
		}
		if after := storedFiles(t, env); len(after) != len(before) {
			t.Fatalf("refused uploads left files: %q", after)
		}
	})

	t.Run("a retried upload is stored once", func(t *testing.T) {
		files, rows := len(storedFiles(t, env)), count(t, env, `SELECT COUNT(*) FROM attachments`)
		first, err := v.Upload(ctx, conv, "retry-1", "kuitti.png", png)
		if err != nil {
			t.Fatal(err)
		}
		second, err := v.Upload(ctx, conv, "retry-1", "kuitti.png", png)
		if err != nil {
			t.Fatal(err)
		}
		if first.Dup || !second.Dup || second.M.ID != first.M.ID || second.Seq != first.Seq || second.M.File.ID != first.M.File.ID {
			t.Fatalf("retry: first %+v, second %+v", first, second)
		}
		if got := len(storedFiles(t, env)); got != files+1 {
			t.Fatalf("%d files on disk, want %d", got, files+1)
		}
		if got := count(t, env, `SELECT COUNT(*) FROM attachments`); got != rows+1 {
			t.Fatalf("%d attachment rows, want %d", got, rows+1)
		}
		ms, err := v.Messages(ctx, conv, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range ms {
			if m.CMID == "retry-1" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d messages with the retried id", n)
		}
	})

	t.Run("tampered and expired links", func(t *testing.T) {
		ack, err := v.Upload(ctx, conv, "img-3", "kuva.png", png)
		if err != nil {
			t.Fatal(err)
		}
		u := ack.M.File.URL
		i := strings.Index(u, "sig=") + 4
		flipped := u[:i] + string("0123456789abcdef"[(strings.IndexByte("0123456789abcdef", u[i])+1)%16]) + u[i+1:]
		if r := get(flipped); r.status != 404 || bytes.Contains(r.body, png[:8]) {
			t.Fatalf("tampered link: %d", r.status)
		}
		if r := get(strings.Replace(u, "exp=", "exp=1", 1)); r.status != 404 {
			t.Fatalf("link with a changed expiry: %d", r.status)
		}
		if r := get(u); r.status != 200 {
			t.Fatalf("link before expiry: %d", r.status)
		}
		fc.Advance(72 * time.Hour)
		if r := get(u); r.status != 410 || bytes.Contains(r.body, png[:8]) {
			t.Fatalf("expired link: %d", r.status)
		}
		// A reload gives a fresh link.
		ms, err := v.Messages(ctx, conv, ack.Seq-1, 1)
		if err != nil || len(ms) != 1 || ms[0].File == nil || ms[0].File.URL == u {
			t.Fatalf("reloaded message %+v %v", ms, err)
		}
		if r := get(ms[0].File.URL); r.status != 200 || !bytes.Equal(r.body, png) {
			t.Fatalf("fresh link: %d", r.status)
		}
	})
}
