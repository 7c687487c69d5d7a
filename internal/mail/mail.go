// Package mail sends Tiski's email: offline messages to the team,
// transcripts to shoppers, notifications. Mail is written to an outbox table
// in the same transaction as whatever caused it, so nothing is promised
// that is not stored, and a worker delivers it over SMTP with retries.
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"tiski/internal/apperr"
	"tiski/internal/validate"
)

// Config is how to reach the SMTP server. An empty Host disables email.
type Config struct {
	Host     string
	Port     int
	Username string
	Password string
	From     string // "Tiski <chat@shop.example>"
	// TLS is "starttls" (default: upgrade when the server offers it),
	// "tls" (implicit TLS, port 465) or "none".
	TLS string
	// InsecureSkipVerify is for test servers with self-signed certificates.
	InsecureSkipVerify bool
}

// Enabled reports whether email can be sent.
func (c Config) Enabled() bool { return c.Host != "" }

// Message is one email.
type Message struct {
	To      string
	ReplyTo string
	Subject string
	Text    string
	HTML    string // optional alternative; must be escaped by its maker
}

// Check validates a message's addresses and subject.
func (m Message) Check() error {
	if _, err := validate.Email("to", m.To, true); err != nil {
		return err
	}
	if m.ReplyTo != "" {
		if _, err := validate.Email("reply_to", m.ReplyTo, true); err != nil {
			return err
		}
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return apperr.FieldError("subject", "the subject must be one line")
	}
	if strings.TrimSpace(m.Text) == "" {
		return apperr.FieldError("text", "the message has no text")
	}
	return nil
}

// SMTP sends messages through one SMTP server.
type SMTP struct {
	cfg     Config
	timeout time.Duration
}

// NewSMTP returns a sender for cfg.
func NewSMTP(cfg Config) *SMTP {
	if cfg.Port == 0 {
		cfg.Port = 587
	}
	if cfg.TLS == "" {
		cfg.TLS = "starttls"
	}
	return &SMTP{cfg: cfg, timeout: 30 * time.Second}
}

// Send delivers m now.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	if err := m.Check(); err != nil {
		return err
	}
	from, err := parseFrom(s.cfg.From)
	if err != nil {
		return err
	}
	body, err := compose(from, m, time.Now())
	if err != nil {
		return err
	}
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	tlsCfg := &tls.Config{ServerName: s.cfg.Host, InsecureSkipVerify: s.cfg.InsecureSkipVerify}
	if s.cfg.TLS == "tls" {
		tc := tls.Client(conn, tlsCfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return err
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		return err
	}
	defer c.Close()
	if s.cfg.TLS == "starttls" {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsCfg); err != nil {
				return err
			}
		}
	}
	if s.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.cfg.Host)); err != nil {
			return err
		}
	}
	if err := c.Mail(from.addr); err != nil {
		return err
	}
	if err := c.Rcpt(m.To); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(body); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

type sender struct{ name, addr string }

func parseFrom(from string) (sender, error) {
	from = strings.TrimSpace(from)
	name, addr := "", from
	if i := strings.LastIndexByte(from, '<'); i >= 0 && strings.HasSuffix(from, ">") {
		name, addr = strings.TrimSpace(from[:i]), from[i+1:len(from)-1]
	}
	if _, err := validate.Email("from", addr, true); err != nil || strings.ContainsAny(name, "\r\n\"<>") {
		return sender{}, apperr.New(apperr.Invalid, "the sender address %q is not valid; set --smtp-from", from)
	}
	return sender{name: name, addr: addr}, nil
}

// compose builds the RFC 5322 message: UTF-8, quoted-printable, text and
// optionally an HTML alternative.
func compose(from sender, m Message, now time.Time) ([]byte, error) {
	var b bytes.Buffer
	h := textproto.MIMEHeader{}
	if from.name != "" {
		h.Set("From", mime.QEncoding.Encode("utf-8", from.name)+" <"+from.addr+">")
	} else {
		h.Set("From", from.addr)
	}
	h.Set("To", m.To)
	if m.ReplyTo != "" {
		h.Set("Reply-To", m.ReplyTo)
	}
	h.Set("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	h.Set("Date", now.Format(time.RFC1123Z))
	var rnd [12]byte
	_, _ = rand.Read(rnd[:])
	domain := from.addr[strings.LastIndexByte(from.addr, '@')+1:]
	h.Set("Message-ID", "<"+hex.EncodeToString(rnd[:])+"@"+domain+">")
	h.Set("MIME-Version", "1.0")
	h.Set("Auto-Submitted", "auto-generated")
	writeHeader := func() {
		for _, k := range []string{"From", "To", "Reply-To", "Subject", "Date", "Message-ID", "MIME-Version", "Auto-Submitted", "Content-Type", "Content-Transfer-Encoding"} {
			if v := h.Get(k); v != "" {
				fmt.Fprintf(&b, "%s: %s\r\n", k, v)
			}
		}
		b.WriteString("\r\n")
	}
	if m.HTML == "" {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Content-Transfer-Encoding", "quoted-printable")
		writeHeader()
		return b.Bytes(), writeQP(&b, m.Text)
	}
	mw := multipart.NewWriter(&b)
	h.Set("Content-Type", "multipart/alternative; boundary="+mw.Boundary())
	writeHeader()
	for _, part := range []struct{ ctype, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.ctype + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write([]byte(part.body)); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func writeQP(b *bytes.Buffer, text string) error {
	qp := quotedprintable.NewWriter(b)
	if _, err := qp.Write([]byte(text)); err != nil {
		return err
	}
	return qp.Close()
}
