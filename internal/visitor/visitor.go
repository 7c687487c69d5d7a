// Package visitor stores the shoppers who chat. A visitor is anonymous until
// the shop identifies them; the widget holds a bearer token that the server
// issues once and keeps only as a hash.
package visitor

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"tiski/internal/apperr"
	"tiski/internal/clock"
	"tiski/internal/db"
	"tiski/internal/id"
	"tiski/internal/validate"
)

// Visitor is a shopper on one site.
type Visitor struct {
	ID         string            `json:"id"`
	TenantID   string            `json:"-"`
	SiteID     string            `json:"site_id"`
	Name       string            `json:"name"`
	Email      string            `json:"email"`
	CustomerID string            `json:"customer_id,omitempty"`
	Language   string            `json:"language"`
	Attributes map[string]string `json:"attributes"`
	CreatedAt  time.Time         `json:"created_at"`
	LastSeenAt time.Time         `json:"last_seen_at"`
	// What the widget reports, for agents (context.go).
	Device    string `json:"device"`
	Browser   string `json:"browser"`
	OS        string `json:"os"`
	Timezone  string `json:"timezone"`
	UTCOffset int    `json:"utc_offset"`
	// LocalTime is the shopper's clock now, as "15:04" (when known).
	LocalTime string         `json:"local_time,omitempty"`
	Pages     []PageView     `json:"pages,omitempty"`
	Events    []TrackedEvent `json:"events,omitempty"`
	tokenExp  time.Time
}

// Store reads and writes visitors.
type Store struct {
	db    *db.DB
	clock clock.Clock
	// TokenTTL is how long an unused visitor token stays valid; each use
	// extends it.
	TokenTTL time.Duration
}

func NewStore(d *db.DB, c clock.Clock, ttl time.Duration) *Store {
	return &Store{db: d, clock: c, TokenTTL: ttl}
}

// Create makes an anonymous visitor of a site and returns the visitor with
// its token. The token is never available again.
func (s *Store) Create(ctx context.Context, tenantID, siteID, language string) (Visitor, string, error) {
	if language != "" {
		if err := validate.OneOf("language", language, "fi", "sv", "en"); err != nil {
			language = ""
		}
	}
	token := id.Secret("v_")
	now := s.clock.Now()
	v := Visitor{ID: id.New(), TenantID: tenantID, SiteID: siteID, Language: language, Attributes: map[string]string{},
		CreatedAt: now, LastSeenAt: now, tokenExp: now.Add(s.TokenTTL)}
	err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO visitors
			(id, tenant_id, site_id, token_hash, token_expires_at, language, created_at, last_seen_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			v.ID, tenantID, siteID, id.Hash(token), v.tokenExp, language, now, now)
		return err
	})
	if err != nil {
		return Visitor{}, "", err
	}
	return v, token, nil
}

const columns = `id, tenant_id, site_id, name, email, customer_id, language, attributes, created_at, last_seen_at, token_expires_at, device, browser, os, timezone, utc_offset`

func scan(row interface{ Scan(...any) error }) (Visitor, error) {
	var v Visitor
	var customer sql.NullString
	var attrs string
	if err := row.Scan(&v.ID, &v.TenantID, &v.SiteID, &v.Name, &v.Email, &customer, &v.Language, &attrs,
		&v.CreatedAt, &v.LastSeenAt, &v.tokenExp, &v.Device, &v.Browser, &v.OS, &v.Timezone, &v.UTCOffset); err != nil {
		return v, err
	}
	v.CustomerID = customer.String
	v.Attributes = map[string]string{}
	return v, json.Unmarshal([]byte(attrs), &v.Attributes)
}

// Authenticate returns the visitor holding token on the given site. A token
// of another site is refused as if unknown; an expired token says so.
func (s *Store) Authenticate(ctx context.Context, siteID, token string) (Visitor, error) {
	if token == "" || len(token) > 100 {
		return Visitor{}, apperr.New(apperr.Unauthorized, "a visitor token is required")
	}
	v, err := scan(s.db.Read().QueryRowContext(ctx, `SELECT `+columns+` FROM visitors WHERE token_hash = $1`, id.Hash(token)))
	if errors.Is(err, sql.ErrNoRows) || err == nil && v.SiteID != siteID {
		return Visitor{}, apperr.New(apperr.Unauthorized, "unknown visitor token")
	}
	if err != nil {
		return Visitor{}, err
	}
	now := s.clock.Now()
	if now.After(v.tokenExp) {
		return Visitor{}, apperr.New(apperr.TokenExpired, "the visitor token has expired; start a new visitor")
	}
	// Slide the expiry, writing at most once an hour per visitor.
	if now.Sub(v.LastSeenAt) > time.Hour {
		v.LastSeenAt = now
		_ = s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE visitors SET last_seen_at = $1, token_expires_at = $2 WHERE id = $3`,
				now, now.Add(s.TokenTTL), v.ID)
			return err
		})
	}
	return v, nil
}

// Get returns a visitor of the tenant with their latest pages and
// tracked events.
func (s *Store) Get(ctx context.Context, tenantID, visitorID string) (Visitor, error) {
	v, err := scan(s.db.Read().QueryRowContext(ctx, `SELECT `+columns+` FROM visitors WHERE tenant_id = $1 AND id = $2`, tenantID, visitorID))
	if errors.Is(err, sql.ErrNoRows) {
		return v, apperr.New(apperr.NotFound, "no such visitor")
	}
	if err != nil {
		return v, err
	}
	if v.Pages, err = s.Pages(ctx, tenantID, visitorID, 10); err != nil {
		return v, err
	}
	if v.Events, err = s.Events(ctx, tenantID, visitorID, 10); err != nil {
		return v, err
	}
	now := s.clock.Now()
	if loc, lerr := time.LoadLocation(v.Timezone); v.Timezone != "" && lerr == nil {
		v.LocalTime = now.In(loc).Format("15:04")
	} else if v.Device != "" {
		v.LocalTime = now.UTC().Add(time.Duration(v.UTCOffset) * time.Minute).Format("15:04")
	}
	return v, nil
}

// Profile is what a visitor may tell about themselves; nil fields stay.
type Profile struct {
	Name       *string           `json:"name"`
	Email      *string           `json:"email"`
	Language   *string           `json:"language"`
	Attributes map[string]string `json:"attributes"`
}

// MaxAttributes bounds custom attributes per visitor.
const MaxAttributes = 50

// UpdateProfile validates and stores profile fields. Attributes are merged;
// an empty value removes an attribute.
func (s *Store) UpdateProfile(ctx context.Context, tenantID, visitorID string, p Profile) (Visitor, error) {
	var err error
	if p.Name != nil {
		if *p.Name, err = validate.Text("name", *p.Name, 100, false); err != nil {
			return Visitor{}, err
		}
	}
	if p.Email != nil {
		if *p.Email, err = validate.Email("email", *p.Email, false); err != nil {
			return Visitor{}, err
		}
	}
	if p.Language != nil && *p.Language != "" {
		if err := validate.OneOf("language", *p.Language, "fi", "sv", "en"); err != nil {
			return Visitor{}, err
		}
	}
	for k, val := range p.Attributes {
		if _, err := validate.Text("attributes", k, 50, true); err != nil {
			return Visitor{}, err
		}
		if _, err := validate.Text("attributes", val, 500, false); err != nil {
			return Visitor{}, err
		}
	}
	err = s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		v, err := scan(tx.QueryRowContext(ctx, `SELECT `+columns+` FROM visitors WHERE tenant_id = $1 AND id = $2`, tenantID, visitorID))
		if errors.Is(err, sql.ErrNoRows) {
			return apperr.New(apperr.NotFound, "no such visitor")
		}
		if err != nil {
			return err
		}
		if p.Name != nil {
			v.Name = *p.Name
		}
		if p.Email != nil {
			v.Email = *p.Email
		}
		if p.Language != nil {
			v.Language = *p.Language
		}
		for k, val := range p.Attributes {
			if val == "" {
				delete(v.Attributes, k)
			} else {
				v.Attributes[k] = val
			}
		}
		if len(v.Attributes) > MaxAttributes {
			return apperr.FieldError("attributes", "at most %d attributes", MaxAttributes)
		}
		attrs, _ := json.Marshal(v.Attributes)
		_, err = tx.ExecContext(ctx, `UPDATE visitors SET name = $1, email = $2, language = $3, attributes = $4 WHERE tenant_id = $5 AND id = $6`,
			v.Name, v.Email, v.Language, string(attrs), tenantID, visitorID)
		return err
	})
	if err != nil {
		return Visitor{}, err
	}
	return s.Get(ctx, tenantID, visitorID)
}
