// Package client is a small Go client of Tiski's HTTP API and realtime
// protocol. Tests and the benchmark use it; it is also the reference for
// how a client should resume, deduplicate and fill gaps.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client talks to one Tiski server.
type Client struct {
	BaseURL string // http://host:port
	// Origin is sent as the Origin header of widget requests: the shop
	// page's origin, which the site must allow.
	Origin string
	HTTP   *http.Client
}

// New returns a client of the server at baseURL acting for pages on origin.
func New(baseURL, origin string) *Client {
	return &Client{BaseURL: strings.TrimSuffix(baseURL, "/"), Origin: origin, HTTP: &http.Client{Timeout: 30 * time.Second}}
}

// Error is an error answer of the API.
type Error struct {
	Status     int
	Code       string `json:"code"`
	Message    string `json:"message"`
	Field      string `json:"field"`
	RetryAfter int    `json:"retry_after"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("tiski: %d %s: %s", e.Status, e.Code, e.Message)
}

// Message is a message as the API shows it.
type Message struct {
	ID    string          `json:"id"`
	Seq   int64           `json:"seq"`
	VSeq  int64           `json:"vseq"`
	Kind  string          `json:"kind"`
	From  Sender          `json:"from"`
	Body  string          `json:"body"`
	Event string          `json:"event"`
	Data  json.RawMessage `json:"data"`
	File  *File           `json:"file"`
	CMID  string          `json:"cmid"`
	At    time.Time       `json:"at"`
}

// Sender is who wrote a message.
type Sender struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
	Name string `json:"name"`
}

// File is an attachment.
type File struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
	Size int64  `json:"size"`
	URL  string `json:"url"`
}

// Conversation is the part of a conversation clients use.
type Conversation struct {
	ID             string `json:"id"`
	VisitorID      string `json:"visitor_id"`
	Status         string `json:"status"`
	Epoch          string `json:"epoch"`
	AssigneeID     string `json:"assignee_id"`
	LastSeq        int64  `json:"last_seq"`
	LastVisitorSeq int64  `json:"last_visitor_seq"`
	PreviousID     string `json:"previous_id"`
	ClosedBy       string `json:"closed_by"`
}

// Ack confirms a stored message.
type Ack struct {
	ID   string  `json:"id"`
	Conv string  `json:"conv"`
	Seq  int64   `json:"seq"`
	Dup  bool    `json:"dup"`
	M    Message `json:"m"`
}

func (c *Client) do(ctx context.Context, hc *http.Client, method, path string, hdr http.Header, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.send(hc, req, out)
}

func (c *Client) send(hc *http.Client, req *http.Request, out any) error {
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 400 {
		var eb struct {
			Error Error `json:"error"`
		}
		_ = json.Unmarshal(data, &eb)
		eb.Error.Status = resp.StatusCode
		if eb.Error.Code == "" {
			eb.Error.Message = strings.TrimSpace(string(data))
		}
		return &eb.Error
	}
	if out != nil && len(data) > 0 {
		return json.Unmarshal(data, out)
	}
	return nil
}

// Visitor is a shopper with a token.
type Visitor struct {
	c       *Client
	SiteKey string
	ID      string
	Token   string
}

// NewVisitor asks the server for a new anonymous visitor of a site.
func (c *Client) NewVisitor(ctx context.Context, siteKey, language string) (*Visitor, error) {
	var resp struct {
		Visitor struct {
			ID string `json:"id"`
		} `json:"visitor"`
		Token string `json:"token"`
	}
	hdr := http.Header{"Origin": {c.Origin}}
	if err := c.do(ctx, c.HTTP, "POST", "/api/widget/v1/sites/"+siteKey+"/visitors", hdr, map[string]string{"language": language}, &resp); err != nil {
		return nil, err
	}
	return &Visitor{c: c, SiteKey: siteKey, ID: resp.Visitor.ID, Token: resp.Token}, nil
}

// ResumeVisitor is a visitor whose token is already known.
func (c *Client) ResumeVisitor(siteKey, visitorID, token string) *Visitor {
	return &Visitor{c: c, SiteKey: siteKey, ID: visitorID, Token: token}
}

func (v *Visitor) header() http.Header {
	return http.Header{"Origin": {v.c.Origin}, "Authorization": {"Bearer " + v.Token}}
}

func (v *Visitor) path(p string) string { return "/api/widget/v1/sites/" + v.SiteKey + p }

// Do calls a widget endpoint as this visitor.
func (v *Visitor) Do(ctx context.Context, method, path string, in, out any) error {
	return v.c.do(ctx, v.c.HTTP, method, v.path(path), v.header(), in, out)
}

// Messages returns the visitor's stream of a conversation after seq.
func (v *Visitor) Messages(ctx context.Context, conv string, after int64, limit int) ([]Message, error) {
	var resp struct {
		Messages []Message `json:"messages"`
	}
	q := url.Values{"after": {strconv.FormatInt(after, 10)}, "limit": {strconv.Itoa(limit)}}
	err := v.Do(ctx, "GET", "/conversations/"+conv+"/messages?"+q.Encode(), nil, &resp)
	return resp.Messages, err
}

// Conversations lists the visitor's conversations, newest first.
func (v *Visitor) Conversations(ctx context.Context) ([]Conversation, error) {
	var resp struct {
		Conversations []Conversation `json:"conversations"`
	}
	err := v.Do(ctx, "GET", "/conversations", nil, &resp)
	return resp.Conversations, err
}

// Rate gives a conversation a smiley: good, neutral or bad.
func (v *Visitor) Rate(ctx context.Context, conv, score, comment string) error {
	return v.Do(ctx, "POST", "/conversations/"+conv+"/rating", map[string]string{"score": score, "comment": comment}, nil)
}

// Close ends a conversation.
func (v *Visitor) Close(ctx context.Context, conv string) error {
	return v.Do(ctx, "POST", "/conversations/"+conv+"/close", nil, nil)
}

// Upload sends a file into a conversation ("" for the active one).
func (v *Visitor) Upload(ctx context.Context, conv, cmid, name string, data []byte) (Ack, error) {
	p := v.path("/files")
	if conv != "" {
		p += "?conv=" + url.QueryEscape(conv)
	}
	return upload(ctx, v.c, v.c.HTTP, p, v.header(), cmid, name, data)
}

func upload(ctx context.Context, c *Client, hc *http.Client, path string, hdr http.Header, cmid, name string, data []byte) (Ack, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("id", cmid)
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		return Ack{}, err
	}
	fw.Write(data)
	mw.Close()
	req, err := http.NewRequestWithContext(ctx, "POST", c.BaseURL+path, &buf)
	if err != nil {
		return Ack{}, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	var ack Ack
	err = c.send(hc, req, &ack)
	return ack, err
}

// Agent is a signed-in console user.
type Agent struct {
	c    *Client
	hc   *http.Client
	CSRF string
	User struct {
		ID       string `json:"id"`
		TenantID string `json:"tenant_id"`
		Name     string `json:"name"`
		Role     string `json:"role"`
	}
}

// Login signs an agent in.
func (c *Client) Login(ctx context.Context, email, password string) (*Agent, error) {
	jar, _ := cookiejar.New(nil)
	a := &Agent{c: c, hc: &http.Client{Timeout: c.HTTP.Timeout, Jar: jar, Transport: c.HTTP.Transport}}
	var resp struct {
		User      json.RawMessage `json:"user"`
		CSRFToken string          `json:"csrf_token"`
	}
	if err := c.do(ctx, a.hc, "POST", "/api/console/v1/login", http.Header{"Origin": {c.BaseURL}},
		map[string]string{"email": email, "password": password}, &resp); err != nil {
		return nil, err
	}
	a.CSRF = resp.CSRFToken
	if err := json.Unmarshal(resp.User, &a.User); err != nil {
		return nil, err
	}
	return a, nil
}

// Via returns the same signed-in agent talking to another node of the
// same installation (nodes share sessions through the database).
func (a *Agent) Via(c *Client) *Agent {
	b := *a
	b.c = c
	return &b
}

func (a *Agent) header() http.Header {
	return http.Header{"Origin": {a.c.BaseURL}, "X-Csrf-Token": {a.CSRF}}
}

// Do calls a console endpoint (path below /api/console/v1) as this agent.
func (a *Agent) Do(ctx context.Context, method, path string, in, out any) error {
	return a.c.do(ctx, a.hc, method, "/api/console/v1"+path, a.header(), in, out)
}

// SetStatus sets the agent online, away or offline.
func (a *Agent) SetStatus(ctx context.Context, status string) error {
	return a.Do(ctx, "PUT", "/me/status", map[string]string{"status": status}, nil)
}

// Inbox lists conversations with the given statuses (comma separated).
func (a *Agent) Inbox(ctx context.Context, statuses string) ([]Conversation, error) {
	var resp struct {
		Conversations []Conversation `json:"conversations"`
	}
	err := a.Do(ctx, "GET", "/conversations?limit=200&status="+url.QueryEscape(statuses), nil, &resp)
	return resp.Conversations, err
}

// Take assigns a queued conversation to the agent.
func (a *Agent) Take(ctx context.Context, conv string) (Conversation, error) {
	var c Conversation
	err := a.Do(ctx, "POST", "/conversations/"+conv+"/assign", nil, &c)
	return c, err
}

// Transfer hands a conversation to another agent with an internal note.
func (a *Agent) Transfer(ctx context.Context, conv, agentID, note string) (Conversation, error) {
	var c Conversation
	err := a.Do(ctx, "POST", "/conversations/"+conv+"/assign", map[string]string{"agent_id": agentID, "note": note}, &c)
	return c, err
}

// Close ends a conversation.
func (a *Agent) Close(ctx context.Context, conv string) (Conversation, error) {
	var c Conversation
	err := a.Do(ctx, "POST", "/conversations/"+conv+"/close", nil, &c)
	return c, err
}

// Messages returns the full stream of a conversation after seq.
func (a *Agent) Messages(ctx context.Context, conv string, after int64, limit int) ([]Message, error) {
	var resp struct {
		Messages []Message `json:"messages"`
	}
	q := url.Values{"after": {strconv.FormatInt(after, 10)}, "limit": {strconv.Itoa(limit)}}
	err := a.Do(ctx, "GET", "/conversations/"+conv+"/messages?"+q.Encode(), nil, &resp)
	return resp.Messages, err
}

// Upload sends a file into a conversation.
func (a *Agent) Upload(ctx context.Context, conv, cmid, name string, data []byte) (Ack, error) {
	return upload(ctx, a.c, a.hc, "/api/console/v1/conversations/"+conv+"/files", a.header(), cmid, name, data)
}

// Logout ends the agent's session.
func (a *Agent) Logout(ctx context.Context) error { return a.Do(ctx, "POST", "/logout", nil, nil) }
