// Package site stores the shops that embed the chat: their widget key, the
// origins allowed to talk to Tiski on their behalf, language, time zone and
// widget settings.
package site

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"tiski/internal/apperr"
	"tiski/internal/clock"
	"tiski/internal/db"
	"tiski/internal/id"
	"tiski/internal/validate"
)

// Languages Tiski speaks. Adding one means adding its locale files.
var Languages = []string{"fi", "sv", "en"}

// Site is one shop.
type Site struct {
	ID        string    `json:"id"`
	TenantID  string    `json:"-"`
	WidgetKey string    `json:"widget_key"`
	Name      string    `json:"name"`
	Language  string    `json:"language"`
	Timezone  string    `json:"timezone"`
	Origins   []string  `json:"allowed_origins"`
	Settings  Settings  `json:"settings"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// IdentitySecret signs shop-verified customer identities. Never serialised.
	IdentitySecret string `json:"-"`
}

// Settings shape the widget and chat behaviour of a site.
type Settings struct {
	// Label is the launcher's text by language (empty: the locale's own).
	Label map[string]string `json:"label,omitempty"`
	// LockLanguage makes the widget speak the site's language on every
	// page instead of following the page's or the browser's.
	LockLanguage bool `json:"lock_language"`

	Color    string            `json:"color"`
	Position string            `json:"position"` // "right" or "left"
	Greeting map[string]string `json:"greeting"` // by language
	// TypingPreview lets agents see what the shopper types before sending.
	TypingPreview bool `json:"typing_preview"`
	// Prechat is the form shown before a chat starts.
	Prechat Prechat `json:"prechat"`
}

// Prechat configures the pre-chat form: which fields it asks, in order.
type Prechat struct {
	Enabled bool           `json:"enabled"`
	Fields  []PrechatField `json:"fields"`
}

// PrechatField is one question of the pre-chat form.
type PrechatField struct {
	Name     string `json:"name"` // name, email, phone or message
	Required bool   `json:"required"`
}

// PrechatFieldNames are the questions a pre-chat form can ask.
var PrechatFieldNames = []string{"name", "email", "phone", "message"}

// DefaultSettings are what a new site starts with.
func DefaultSettings() Settings {
	return Settings{
		Color:    "#0f766e",
		Position: "right",
		Greeting: map[string]string{
			"fi": "Hei! Miten voimme auttaa?",
			"sv": "Hej! Hur kan vi hjälpa dig?",
			"en": "Hi! How can we help?",
		},
		TypingPreview: true,
		Prechat:       Prechat{Fields: []PrechatField{{Name: "name"}, {Name: "email"}}},
	}
}

// Validate checks settings from an admin.
func (st Settings) Validate() error {
	for lang, l := range st.Label {
		if !slices.Contains(Languages, lang) {
			return apperr.FieldError("settings.label", "label language %q is not one of fi, sv, en", lang)
		}
		if _, err := validate.Text("settings.label", l, 40, false); err != nil {
			return err
		}
	}
	if len(st.Color) != 7 || st.Color[0] != '#' {
		return apperr.FieldError("settings.color", "color must be like #0f766e")
	}
	for _, c := range st.Color[1:] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return apperr.FieldError("settings.color", "color must be like #0f766e")
		}
	}
	if err := validate.OneOf("settings.position", st.Position, "right", "left"); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, f := range st.Prechat.Fields {
		if err := validate.OneOf("settings.prechat.fields", f.Name, PrechatFieldNames...); err != nil {
			return err
		}
		if seen[f.Name] {
			return apperr.FieldError("settings.prechat.fields", "the field %q is listed twice", f.Name)
		}
		seen[f.Name] = true
	}
	if st.Prechat.Enabled && len(st.Prechat.Fields) == 0 {
		return apperr.FieldError("settings.prechat.fields", "an enabled pre-chat form needs at least one field")
	}
	for lang, g := range st.Greeting {
		if !slices.Contains(Languages, lang) {
			return apperr.FieldError("settings.greeting", "greeting language %q is not one of fi, sv, en", lang)
		}
		if _, err := validate.Text("settings.greeting", g, 300, false); err != nil {
			return err
		}
	}
	return nil
}

// New describes a site to create.
type New struct {
	Name     string
	Language string
	Timezone string
	Origins  []string
}

// Store reads and writes sites.
type Store struct {
	db    *db.DB
	clock clock.Clock
}

func NewStore(d *db.DB, c clock.Clock) *Store { return &Store{db: d, clock: c} }

// Build validates n and returns the site to insert.
func (s *Store) Build(tenantID string, n New) (Site, error) {
	name, err := validate.Text("name", n.Name, 200, true)
	if err != nil {
		return Site{}, err
	}
	if n.Language == "" {
		n.Language = "en"
	}
	if err := validate.OneOf("language", n.Language, Languages...); err != nil {
		return Site{}, err
	}
	if n.Timezone == "" {
		n.Timezone = "Europe/Helsinki"
	}
	if _, err := time.LoadLocation(n.Timezone); err != nil || n.Timezone == "Local" {
		return Site{}, apperr.FieldError("timezone", "%q is not a known time zone", n.Timezone)
	}
	origins, err := normaliseOrigins(n.Origins)
	if err != nil {
		return Site{}, err
	}
	now := s.clock.Now()
	return Site{
		ID: id.New(), TenantID: tenantID, WidgetKey: id.Key("w_"), Name: name,
		Language: n.Language, Timezone: n.Timezone, Origins: origins,
		Settings: DefaultSettings(), CreatedAt: now, UpdatedAt: now,
		IdentitySecret: id.Secret("is_"),
	}, nil
}

func normaliseOrigins(in []string) ([]string, error) {
	if len(in) > 50 {
		return nil, apperr.FieldError("allowed_origins", "at most 50 origins")
	}
	out := []string{}
	for _, o := range in {
		n, err := validate.Origin("allowed_origins", o)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// Create validates and stores a new site.
func (s *Store) Create(ctx context.Context, tenantID string, n New) (Site, error) {
	st, err := s.Build(tenantID, n)
	if err != nil {
		return st, err
	}
	err = s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error { return Insert(ctx, tx, st) })
	return st, err
}

// Insert writes a built site inside a caller's transaction.
func Insert(ctx context.Context, q db.Querier, st Site) error {
	settings, err := json.Marshal(st.Settings)
	if err != nil {
		return err
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO sites
		(id, tenant_id, widget_key, name, language, timezone, identity_secret, settings, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		st.ID, st.TenantID, st.WidgetKey, st.Name, st.Language, st.Timezone, st.IdentitySecret, string(settings),
		st.CreatedAt, st.UpdatedAt); err != nil {
		return err
	}
	return insertOrigins(ctx, q, st.ID, st.Origins)
}

func insertOrigins(ctx context.Context, q db.Querier, siteID string, origins []string) error {
	for _, o := range origins {
		if _, err := q.ExecContext(ctx, `INSERT INTO site_origins (site_id, origin) VALUES ($1, $2)`, siteID, o); err != nil {
			return err
		}
	}
	return nil
}

const columns = `id, tenant_id, widget_key, name, language, timezone, identity_secret, settings, created_at, updated_at`

func (s *Store) one(ctx context.Context, where string, args ...any) (Site, error) {
	var st Site
	var settings string
	err := s.db.Read().QueryRowContext(ctx, `SELECT `+columns+` FROM sites WHERE `+where, args...).Scan(
		&st.ID, &st.TenantID, &st.WidgetKey, &st.Name, &st.Language, &st.Timezone, &st.IdentitySecret, &settings,
		&st.CreatedAt, &st.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return st, apperr.New(apperr.NotFound, "no such site")
	}
	if err != nil {
		return st, err
	}
	st.Settings = DefaultSettings()
	if err := json.Unmarshal([]byte(settings), &st.Settings); err != nil {
		return st, err
	}
	if st.Settings.Prechat.Fields == nil { // an admin sent "fields": null
		st.Settings.Prechat.Fields = []PrechatField{}
	}
	st.Origins, err = s.origins(ctx, st.ID)
	return st, err
}

func (s *Store) origins(ctx context.Context, siteID string) ([]string, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT origin FROM site_origins WHERE site_id = $1 ORDER BY origin`, siteID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var o string
		if err := rows.Scan(&o); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// ByWidgetKey finds a site by its public widget key. The key is the widget's
// entry point and resolves the tenant; it is not a secret, so callers must
// still check the request's origin with AllowsOrigin.
func (s *Store) ByWidgetKey(ctx context.Context, key string) (Site, error) {
	if len(key) > 64 {
		return Site{}, apperr.New(apperr.NotFound, "no such site")
	}
	return s.one(ctx, `widget_key = $1`, key)
}

// Get returns a site of the tenant.
func (s *Store) Get(ctx context.Context, tenantID, siteID string) (Site, error) {
	return s.one(ctx, `tenant_id = $1 AND id = $2`, tenantID, siteID)
}

// List returns the tenant's sites by name.
func (s *Store) List(ctx context.Context, tenantID string) ([]Site, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT id FROM sites WHERE tenant_id = $1 ORDER BY name, id`, tenantID)
	if err != nil {
		return nil, err
	}
	var ids []string
	for rows.Next() {
		var i string
		if err := rows.Scan(&i); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, i)
	}
	rows.Close()
	out := []Site{}
	for _, i := range ids {
		st, err := s.Get(ctx, tenantID, i)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// Update describes changes to a site; nil fields stay as they are.
type Update struct {
	Name     *string   `json:"name"`
	Language *string   `json:"language"`
	Timezone *string   `json:"timezone"`
	Origins  *[]string `json:"allowed_origins"`
	Settings *Settings `json:"settings"`
}

// Update changes a site of the tenant and returns it as stored.
func (s *Store) Update(ctx context.Context, tenantID, siteID string, u Update) (Site, error) {
	cur, err := s.Get(ctx, tenantID, siteID)
	if err != nil {
		return cur, err
	}
	n := New{Name: cur.Name, Language: cur.Language, Timezone: cur.Timezone, Origins: cur.Origins}
	if u.Name != nil {
		n.Name = *u.Name
	}
	if u.Language != nil {
		n.Language = *u.Language
	}
	if u.Timezone != nil {
		n.Timezone = *u.Timezone
	}
	if u.Origins != nil {
		n.Origins = *u.Origins
	}
	checked, err := s.Build(tenantID, n)
	if err != nil {
		return cur, err
	}
	settings := cur.Settings
	if u.Settings != nil {
		if err := u.Settings.Validate(); err != nil {
			return cur, err
		}
		settings = *u.Settings
	}
	raw, _ := json.Marshal(settings)
	now := s.clock.Now()
	err = s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sites SET name = $1, language = $2, timezone = $3, settings = $4, updated_at = $5
			WHERE tenant_id = $6 AND id = $7`,
			checked.Name, checked.Language, checked.Timezone, string(raw), now, tenantID, siteID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return apperr.New(apperr.NotFound, "no such site")
		}
		if u.Origins == nil {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM site_origins WHERE site_id = $1`, siteID); err != nil {
			return err
		}
		return insertOrigins(ctx, tx, siteID, checked.Origins)
	})
	if err != nil {
		return cur, err
	}
	return s.Get(ctx, tenantID, siteID)
}

// AllowsOrigin reports whether a browser at origin may use the site's widget.
// extra lists origins always allowed (Tiski's own, which serves the widget frame).
func (st Site) AllowsOrigin(origin string, extra ...string) bool {
	if origin == "" {
		return false
	}
	return slices.Contains(st.Origins, origin) || slices.Contains(extra, origin)
}
