package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tiski/client"
)

// Origin is the shop page origin the benchmark's site allows and its
// visitors send.
const Origin = "http://bench.tiski.invalid"

// run is the state of one benchmark run.
type run struct {
	cfg  Config
	res  *Result
	srv  *child // nil when measuring a running server
	log  io.Writer
	base time.Time // origin of every schedule, on the monotonic clock

	c       *client.Client
	siteKey string
	agents  []*agentConn
	vis     []*visitor // active visitors first, then the idle ones

	open        []*openState // one per rate
	rateLimited atomic.Int64 // rate_limited answers to sends, all phases
	// "unavailable" answers while a node cannot serve realtime clients
	// (its bus or database is out): to sends, and to connections' hellos.
	refusedSends, refusedConns atomic.Int64
}

type agentConn struct {
	a *client.Agent
	s *client.Stream
}

// visitor is one shopper with a connection. Only its own goroutine of a
// phase touches sent and failed; phases run one after another.
type visitor struct {
	v      *client.Visitor
	s      *client.Stream
	conv   string
	sent   []string        // client message ids of every send attempted
	failed map[string]bool // sends that ended in an error (stored or not)
}

// setup creates the organisation and shop (or a shop in an existing one),
// the agents, and the active visitors, each with a conversation taken by an
// agent who follows it.
func (r *run) setup(ctx context.Context, url string) error {
	tr := &http.Transport{MaxIdleConnsPerHost: 128, IdleConnTimeout: time.Minute}
	r.c = client.New(url, Origin)
	r.c.HTTP = &http.Client{Timeout: time.Minute, Transport: tr}
	runID := strings.ToLower(rand.Text()[:8])
	password := rand.Text()
	var owner *client.Agent
	var err error
	if token := r.setupToken(); token != "" {
		r.logf("first-run set-up")
		email := "owner-" + runID + "@bench.tiski.invalid"
		var out struct {
			Site struct {
				WidgetKey string `json:"widget_key"`
			} `json:"site"`
		}
		err := postJSON(ctx, r.c.HTTP, url+"/api/setup", map[string]any{"token": token, "organisation": "Bench",
			"site_name": "Bench shop", "site_origins": []string{Origin}, "email": email, "name": "Bench owner", "password": password}, &out)
		if err != nil {
			return err
		}
		r.siteKey = out.Site.WidgetKey
		if owner, err = r.login(ctx, email, password); err != nil {
			return err
		}
	} else {
		if owner, err = r.login(ctx, r.cfg.AdminEmail, r.cfg.AdminPassword); err != nil {
			return err
		}
		var st struct {
			WidgetKey string `json:"widget_key"`
		}
		if err := owner.Do(ctx, "POST", "/sites", map[string]any{"name": "Bench " + runID, "allowed_origins": []string{Origin}}, &st); err != nil {
			return err
		}
		r.siteKey = st.WidgetKey
	}

	r.logf("creating %d agents", r.cfg.Agents)
	for i := range r.cfg.Agents {
		email := fmt.Sprintf("agent%d-%s@bench.tiski.invalid", i, runID)
		if err := owner.Do(ctx, "POST", "/users", map[string]any{"email": email, "name": fmt.Sprintf("Agent %d", i),
			"role": "agent", "password": password, "max_chats": maxChats}, nil); err != nil {
			return err
		}
		a, err := r.login(ctx, email, password)
		if err != nil {
			return err
		}
		if err := a.SetStatus(ctx, "online"); err != nil {
			return err
		}
		ac := &agentConn{a: a}
		ac.s = a.Connect(client.StreamOptions{OnFrame: r.onAgentFrame})
		r.agents = append(r.agents, ac)
	}

	r.logf("starting %d conversations", r.cfg.Visitors)
	vs, err := r.newVisitors(ctx, r.cfg.Visitors)
	if err != nil {
		return err
	}
	r.vis = vs
	return parallel(ctx, len(vs), 32, func(i int) error {
		v := vs[i]
		v.s = v.v.Connect(r.streamOptions())
		cmid := fmt.Sprintf("h-%d", i)
		v.sent = append(v.sent, cmid)
		ack, err := v.s.Send(ctx, "", cmid, "text", body(cmid))
		if err != nil {
			return err
		}
		v.conv = ack.Conv
		ag := r.agents[i%len(r.agents)]
		if _, err := ag.a.Take(ctx, v.conv); err != nil {
			return err
		}
		return ag.s.Follow(ctx, v.conv)
	})
}

func (r *run) setupToken() string {
	if r.srv != nil {
		return r.srv.Token
	}
	return r.cfg.SetupToken
}

// login signs in, waiting out the server's per-address sign-in limit.
func (r *run) login(ctx context.Context, email, password string) (*client.Agent, error) {
	var a *client.Agent
	err := retry(ctx, func() error {
		var err error
		a, err = r.c.Login(ctx, email, password)
		return err
	})
	return a, err
}

// newVisitors creates n anonymous visitors over HTTP.
func (r *run) newVisitors(ctx context.Context, n int) ([]*visitor, error) {
	vs := make([]*visitor, n)
	err := parallel(ctx, n, 32, func(i int) error {
		return retry(ctx, func() error {
			v, err := r.c.NewVisitor(ctx, r.siteKey, "en")
			vs[i] = &visitor{v: v, failed: map[string]bool{}}
			return err
		})
	})
	return vs, err
}

func (r *run) streamOptions() client.StreamOptions {
	return client.StreamOptions{OnFrame: func(f client.Frame) {
		if f.T == "error" && f.Code == "rate_limited" {
			r.rateLimited.Add(1)
		}
		r.countRefusal(f)
	}}
}

// countRefusal counts a node's "unavailable" answers. A refused send
// carries its client message id; a refused hello carries neither an id
// nor a conversation (a refused follow has one of them).
func (r *run) countRefusal(f client.Frame) {
	if f.T != "error" || f.Code != "unavailable" {
		return
	}
	switch {
	case f.ID != "":
		r.refusedSends.Add(1)
	case f.RID == "" && f.Conv == "":
		r.refusedConns.Add(1)
	}
}

func (r *run) closeStreams() {
	var wg sync.WaitGroup
	for _, v := range r.vis {
		if v.s != nil {
			wg.Go(v.s.Close)
		}
	}
	for _, a := range r.agents {
		wg.Go(a.s.Close)
	}
	wg.Wait()
	r.vis, r.agents = nil, nil
}

// body is a message of about 100 bytes, like a short chat line.
func body(cmid string) string {
	const text = "Hei! Onko tätä tuotetta varastossa ja ehtiikö se perille ennen perjantaita? "
	return text + cmid
}

// retry runs fn again while the server answers 429, waiting as it asks.
func retry(ctx context.Context, fn func() error) error {
	for range 30 {
		err := fn()
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != http.StatusTooManyRequests {
			return err
		}
		if err := sleepCtx(ctx, time.Duration(max(ce.RetryAfter, 1))*time.Second); err != nil {
			return err
		}
	}
	return errors.New("still rate limited after 30 tries")
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// parallel runs fn(0..n-1) on at most width goroutines and returns the
// first error.
func parallel(ctx context.Context, n, width int, fn func(i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(width, n) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					cancel(err)
				}
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

func postJSON(ctx context.Context, hc *http.Client, url string, in, out any) error {
	b, _ := json.Marshal(in)
	req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("POST %s: %d %s", url, resp.StatusCode, bytes.TrimSpace(data))
	}
	return json.Unmarshal(data, out)
}
