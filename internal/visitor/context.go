package visitor

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"regexp"
	"time"

	"tiski/internal/apperr"
	"tiski/internal/db"
	"tiski/internal/id"
	"tiski/internal/validate"
)

// What the widget tells agents about a shopper beyond their profile: the
// pages they viewed, their device and local time, what the shop tracked
// (purchases…), and who the shop says they are (identify).

// PageView is one page a visitor looked at.
type PageView struct {
	URL      string    `json:"url"`
	Title    string    `json:"title"`
	Referrer string    `json:"referrer"`
	At       time.Time `json:"at"`
}

// Device is what the widget reports of the browser it runs in.
type Device struct {
	Kind      string `json:"device"`     // desktop, mobile or tablet
	Timezone  string `json:"timezone"`   // IANA name, e.g. Europe/Helsinki
	UTCOffset int    `json:"utc_offset"` // minutes east of UTC
	Language  string `json:"language"`
	// Browser and OS are named by the server from the request's
	// User-Agent header, never taken from the widget's JSON.
	Browser string `json:"-"`
	OS      string `json:"-"`
}

// TrackedEvent is something the shop reported through Tiski('track', …).
type TrackedEvent struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
	At   time.Time       `json:"at"`
}

// Limits on what the widget reports.
const (
	MaxPagesKept     = 50 // page views kept per visitor
	MaxPagesPerCall  = 20
	maxURLChars      = 2000
	maxEventDataSize = 4096
)

func checkURL(field, s string, required bool) (string, error) {
	s, err := validate.Text(field, s, maxURLChars, required)
	if err != nil || s == "" {
		return s, err
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", apperr.FieldError(field, "%s must be an http(s) address", field)
	}
	return s, nil
}

// RecordPages stores page views and the device of a visitor. Times in the
// future or older than a day are set to now: they come from the browser's
// clock, which may be wrong.
func (s *Store) RecordPages(ctx context.Context, tenantID, visitorID string, pages []PageView, d Device) error {
	if len(pages) > MaxPagesPerCall {
		return apperr.FieldError("pages", "at most %d pages at once", MaxPagesPerCall)
	}
	now := s.clock.Now()
	for i := range pages {
		p := &pages[i]
		var err error
		if p.URL, err = checkURL("pages.url", p.URL, true); err != nil {
			return err
		}
		if p.Referrer, err = checkURL("pages.referrer", p.Referrer, false); err != nil {
			return err
		}
		if p.Title, err = validate.Text("pages.title", p.Title, 300, false); err != nil {
			return err
		}
		if p.At.IsZero() || p.At.After(now) || now.Sub(p.At) > 24*time.Hour {
			p.At = now
		}
	}
	if d.Kind != "" {
		if err := validate.OneOf("device", d.Kind, "desktop", "mobile", "tablet"); err != nil {
			return err
		}
	}
	if d.Timezone != "" {
		if _, err := validate.Text("timezone", d.Timezone, 64, false); err != nil {
			return err
		}
		if _, err := time.LoadLocation(d.Timezone); err != nil || d.Timezone == "Local" {
			return apperr.FieldError("timezone", "%q is not a known time zone", d.Timezone)
		}
	}
	if d.UTCOffset < -14*60 || d.UTCOffset > 14*60 {
		return apperr.FieldError("utc_offset", "utc_offset must be minutes between -840 and 840")
	}
	if d.Language != "" {
		if err := validate.OneOf("language", d.Language, "fi", "sv", "en"); err != nil {
			return err
		}
	}
	return s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE visitors SET device = $1, timezone = $2, utc_offset = $3,
			language = CASE WHEN $4 = '' THEN language ELSE $4 END, browser = $7, os = $8 WHERE tenant_id = $5 AND id = $6`,
			d.Kind, d.Timezone, d.UTCOffset, d.Language, tenantID, visitorID, d.Browser, d.OS)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return apperr.New(apperr.NotFound, "no such visitor")
		}
		for _, p := range pages {
			if _, err := tx.ExecContext(ctx, `INSERT INTO visitor_pages (id, tenant_id, visitor_id, url, title, referrer, viewed_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, id.New(), tenantID, visitorID, p.URL, p.Title, p.Referrer, p.At); err != nil {
				return err
			}
		}
		// Keep the latest views only.
		_, err = tx.ExecContext(ctx, `DELETE FROM visitor_pages WHERE visitor_id = $1 AND id NOT IN
			(SELECT id FROM visitor_pages WHERE visitor_id = $1 ORDER BY viewed_at DESC, id DESC LIMIT $2)`, visitorID, MaxPagesKept)
		return err
	})
}

// Pages returns a visitor's latest page views, newest first.
func (s *Store) Pages(ctx context.Context, tenantID, visitorID string, limit int) ([]PageView, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT url, title, referrer, viewed_at FROM visitor_pages
		WHERE tenant_id = $1 AND visitor_id = $2 ORDER BY viewed_at DESC, id DESC LIMIT $3`, tenantID, visitorID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []PageView{}
	for rows.Next() {
		var p PageView
		if err := rows.Scan(&p.URL, &p.Title, &p.Referrer, &p.At); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

var eventType = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,39}$`)

// Track stores an event the shop reported for a visitor. A purchase needs
// an order id, a value and a currency; a retry of the same order is stored
// once.
func (s *Store) Track(ctx context.Context, v Visitor, typ string, data json.RawMessage) error {
	if !eventType.MatchString(typ) {
		return apperr.FieldError("type", "type must be 1–40 of a-z, 0-9, _ . - starting with a letter")
	}
	if len(data) == 0 || string(data) == "null" {
		data = json.RawMessage(`{}`)
	}
	if len(data) > maxEventDataSize {
		return apperr.New(apperr.TooLarge, "event data is larger than %d bytes", maxEventDataSize)
	}
	var obj map[string]any
	if err := json.Unmarshal(data, &obj); err != nil || obj == nil {
		return apperr.FieldError("data", "data must be a JSON object")
	}
	dedup := ""
	if typ == "purchase" {
		order, _ := obj["orderId"].(string)
		value, isNum := obj["value"].(float64)
		currency, _ := obj["currency"].(string)
		if order == "" || len(order) > 100 {
			return apperr.FieldError("data.orderId", "a purchase needs an orderId (up to 100 characters)")
		}
		if !isNum || value < 0 || value > 1e9 {
			return apperr.FieldError("data.value", "a purchase needs a value, a number >= 0")
		}
		if !regexp.MustCompile(`^[A-Z]{3}$`).MatchString(currency) {
			return apperr.FieldError("data.currency", "a purchase needs a currency like EUR")
		}
		dedup = order
	}
	compact, _ := json.Marshal(obj)
	now := s.clock.Now()
	return s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if dedup != "" {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE tenant_id = $1 AND visitor_id = $2 AND type = $3 AND actor_id = $4`,
				v.TenantID, v.ID, "visitor."+typ, v.ID+":"+dedup).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
		}
		actor := v.ID
		if dedup != "" {
			actor = v.ID + ":" + dedup
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO events (id, tenant_id, site_id, visitor_id, actor_kind, actor_id, type, data, created_at)
			VALUES ($1, $2, $3, $4, 'visitor', $5, $6, $7, $8)`,
			id.New(), v.TenantID, v.SiteID, v.ID, actor, "visitor."+typ, string(compact), now)
		return err
	})
}

// Events returns what the shop tracked for a visitor, newest first.
func (s *Store) Events(ctx context.Context, tenantID, visitorID string, limit int) ([]TrackedEvent, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT type, data, created_at FROM events
		WHERE tenant_id = $1 AND visitor_id = $2 AND actor_kind = 'visitor' AND type LIKE 'visitor.%'
		ORDER BY created_at DESC, id DESC LIMIT $3`, tenantID, visitorID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []TrackedEvent{}
	for rows.Next() {
		var e TrackedEvent
		var data string
		if err := rows.Scan(&e.Type, &data, &e.At); err != nil {
			return nil, err
		}
		e.Type = e.Type[len("visitor."):]
		e.Data = json.RawMessage(data)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Identity is what Tiski('identify', …) sends.
type Identity struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Email     string `json:"email"`
	Expires   int64  `json:"expires"`
	Signature string `json:"signature"`
}

// Identify links a visitor to the shop's customer id after checking the
// shop's signature (see SignIdentity): it must match, must not have
// expired, may not reach further than MaxIdentityTTL ahead, and is claimed
// by the first visitor who presents it; another visitor presenting the
// same signature is refused as a replay.
func (s *Store) Identify(ctx context.Context, v Visitor, secret string, in Identity) (Visitor, error) {
	cid, err := validate.Text("id", in.ID, 200, true)
	if err != nil {
		return Visitor{}, err
	}
	if cid != in.ID {
		return Visitor{}, apperr.FieldError("id", "id must not start or end with spaces")
	}
	name, err := validate.Text("name", in.Name, 100, false)
	if err != nil {
		return Visitor{}, err
	}
	email, err := validate.Email("email", in.Email, false)
	if err != nil {
		return Visitor{}, err
	}
	if len(in.Signature) != 64 {
		return Visitor{}, apperr.FieldError("signature", "signature must be 64 hex digits (HMAC-SHA256)")
	}
	now := s.clock.Now()
	exp := time.Unix(in.Expires, 0)
	if in.Expires <= 0 {
		return Visitor{}, apperr.FieldError("expires", "expires must be a Unix time in seconds")
	}
	if !validSignature(secret, in.ID, in.Expires, in.Signature) {
		return Visitor{}, apperr.New(apperr.Forbidden, "the identity signature does not match")
	}
	if !exp.After(now) {
		return Visitor{}, apperr.New(apperr.TokenExpired, "the identity signature has expired; sign a fresh one")
	}
	if exp.Sub(now) > MaxIdentityTTL*time.Second {
		return Visitor{}, apperr.FieldError("expires", "expires may be at most %d days ahead", MaxIdentityTTL/86400)
	}
	sum := sha256.Sum256([]byte(in.Signature))
	sigHash := hex.EncodeToString(sum[:])
	err = s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var owner string
		err := tx.QueryRowContext(ctx, `SELECT visitor_id FROM identity_claims WHERE site_id = $1 AND signature_hash = $2`,
			v.SiteID, sigHash).Scan(&owner)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := tx.ExecContext(ctx, `INSERT INTO identity_claims (site_id, signature_hash, visitor_id, customer_id, expires_at)
				VALUES ($1, $2, $3, $4, $5)`, v.SiteID, sigHash, v.ID, cid, exp.UTC()); err != nil {
				if db.IsUniqueViolation(err) {
					return apperr.New(apperr.Conflict, "this identity signature was already used by another visitor")
				}
				return err
			}
		case err != nil:
			return err
		case owner != v.ID:
			return apperr.New(apperr.Conflict, "this identity signature was already used by another visitor")
		}
		// Expired claims are of no further use.
		if _, err := tx.ExecContext(ctx, `DELETE FROM identity_claims WHERE expires_at < $1`, now.Add(-time.Hour)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE visitors SET customer_id = $1,
			name = CASE WHEN $2 = '' THEN name ELSE $2 END, email = CASE WHEN $3 = '' THEN email ELSE $3 END
			WHERE tenant_id = $4 AND id = $5`, cid, name, email, v.TenantID, v.ID)
		return err
	})
	if err != nil {
		return Visitor{}, err
	}
	return s.Get(ctx, v.TenantID, v.ID)
}
