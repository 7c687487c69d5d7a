// Package attachment stores the files shoppers and agents send in a chat:
// on disk under the data directory, checked by their real content (not the
// name or the type the client claims), and served only through signed,
// expiring URLs with headers that keep a browser from running them.
package attachment

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // register decoders for dimension checks
	_ "image/jpeg"
	_ "image/png"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"tiski/internal/apperr"
	"tiski/internal/chat"
	"tiski/internal/clock"
	"tiski/internal/db"
	"tiski/internal/id"
)

// Allowed lists the content types Tiski accepts, as sniffed from the bytes.
var Allowed = map[string]string{
	"image/png":       ".png",
	"image/jpeg":      ".jpg",
	"image/gif":       ".gif",
	"image/webp":      ".webp",
	"application/pdf": ".pdf",
}

// MaxPixels bounds image dimensions (decompression bombs).
const MaxPixels = 40_000_000

// Store keeps attachment files.
type Store struct {
	dir      string
	secret   []byte
	db       *db.DB
	clock    clock.Clock
	maxBytes int64
}

// NewStore keeps files under dir; secret signs download URLs.
func NewStore(dir string, secret []byte, d *db.DB, c clock.Clock, maxBytes int64) (*Store, error) {
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o700); err != nil {
		return nil, err
	}
	return &Store{dir: dir, secret: secret, db: d, clock: c, maxBytes: maxBytes}, nil
}

// MaxBytes is the largest file accepted.
func (s *Store) MaxBytes() int64 { return s.maxBytes }

// Save reads a file from r, checks it, and stores it durably. The returned
// attachment is not yet part of any conversation: the caller stores it with
// its message (chat.Send) and calls Remove if that fails or was a retry.
func (s *Store) Save(tenantID, name string, r io.Reader) (*chat.Attachment, error) {
	name = CleanName(name)
	tmp, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), "up-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	defer tmp.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, s.maxBytes+1))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, s.tooLarge()
		}
		return nil, apperr.Wrap(apperr.Invalid, err, "the upload was interrupted")
	}
	if n > s.maxBytes {
		return nil, s.tooLarge()
	}
	if n == 0 {
		return nil, apperr.FieldError("file", "the file is empty")
	}
	head := make([]byte, 512)
	k, _ := tmp.ReadAt(head, 0)
	ctype := sniff(head[:k])
	ext, ok := Allowed[ctype]
	if !ok {
		return nil, apperr.New(apperr.Unsupported, "only images (PNG, JPEG, GIF, WebP) and PDF files can be sent")
	}
	if err := checkImage(tmp, ctype); err != nil {
		return nil, err
	}
	if !strings.HasSuffix(strings.ToLower(name), ext) && !(ext == ".jpg" && strings.HasSuffix(strings.ToLower(name), ".jpeg")) {
		name += ext // the name must not suggest another type than what is served
	}
	if err := tmp.Sync(); err != nil {
		return nil, err
	}
	a := &chat.Attachment{ID: id.New(), Name: name, ContentType: ctype, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}
	a.StorageKey = filepath.ToSlash(filepath.Join(tenantID, a.ID[:8], a.ID))
	dst := filepath.Join(s.dir, filepath.FromSlash(a.StorageKey))
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return nil, err
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return nil, err
	}
	return a, nil
}

func (s *Store) tooLarge() error {
	return &apperr.Error{Code: apperr.TooLarge, Field: "file",
		Message: fmt.Sprintf("the file is larger than %d MB", s.maxBytes>>20)}
}

// sniff returns the content type of a file from its first bytes.
func sniff(head []byte) string {
	// WebP: RIFF....WEBP (http.DetectContentType knows it too; be explicit).
	if len(head) >= 12 && string(head[0:4]) == "RIFF" && string(head[8:12]) == "WEBP" {
		return "image/webp"
	}
	t := http.DetectContentType(head)
	if i := strings.IndexByte(t, ';'); i >= 0 {
		t = t[:i]
	}
	return t
}

func checkImage(f *os.File, ctype string) error {
	if ctype == "image/webp" || ctype == "application/pdf" {
		return nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return apperr.FieldError("file", "the image cannot be read")
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return apperr.FieldError("file", "the image has too many pixels")
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Remove deletes a stored file that did not become part of a message.
func (s *Store) Remove(a *chat.Attachment) {
	if a != nil && a.StorageKey != "" {
		_ = os.Remove(filepath.Join(s.dir, filepath.FromSlash(a.StorageKey)))
	}
}

// CleanName makes a client's file name safe to store and show: no path,
// no control or bidi-override characters, at most 120 characters.
func CleanName(name string) string {
	if !utf8.ValidString(name) {
		name = strings.ToValidUTF8(name, "")
	}
	name = name[strings.LastIndexAny(name, `/\`)+1:]
	var b strings.Builder
	for _, r := range name {
		switch {
		case unicode.IsControl(r), unicode.Is(unicode.Bidi_Control, r), r == '"':
			continue
		}
		b.WriteRune(r)
	}
	name = strings.TrimSpace(strings.Trim(b.String(), "."))
	if utf8.RuneCountInString(name) > 120 {
		name = string([]rune(name)[:120])
	}
	if name == "" {
		name = "file"
	}
	return name
}

// FileURL returns a download path for a, valid for one to two days. The
// expiry is rounded to the day so every reader of a message gets the same
// URL and a frame can be encoded once for all of them.
func (s *Store) FileURL(tenantID string, a chat.Attachment) string {
	exp := s.clock.Now().Truncate(24 * time.Hour).Add(48 * time.Hour).Unix()
	return fmt.Sprintf("/files/%s/%s?exp=%d&sig=%s", tenantID, a.ID, exp, s.sign(tenantID, a.ID, exp))
}

func (s *Store) sign(tenantID, attID string, exp int64) string {
	m := hmac.New(sha256.New, s.secret)
	fmt.Fprintf(m, "%s/%s/%d", tenantID, attID, exp)
	return hex.EncodeToString(m.Sum(nil))
}

// ServeHTTP serves GET /files/{tenant}/{id}?exp=…&sig=….
func (s *Store) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tenantID, attID := r.PathValue("tenant"), r.PathValue("id")
	exp, err := strconv.ParseInt(r.URL.Query().Get("exp"), 10, 64)
	sig := r.URL.Query().Get("sig")
	if err != nil || !id.Valid(tenantID) || !id.Valid(attID) ||
		!hmac.Equal([]byte(sig), []byte(s.sign(tenantID, attID, exp))) {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if s.clock.Now().Unix() > exp {
		http.Error(w, "this link has expired; reload the conversation", http.StatusGone)
		return
	}
	var name, ctype, key string
	err = s.db.Read().QueryRowContext(r.Context(), `SELECT name, content_type, storage_key FROM attachments WHERE tenant_id = $1 AND id = $2`,
		tenantID, attID).Scan(&name, &ctype, &key)
	if errors.Is(err, sql.ErrNoRows) {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	f, err := os.Open(filepath.Join(s.dir, filepath.FromSlash(key)))
	if err != nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	disposition := "attachment"
	if strings.HasPrefix(ctype, "image/") {
		disposition = "inline"
	}
	hdr := w.Header()
	hdr.Set("Content-Type", ctype)
	hdr.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": name}))
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; sandbox")
	hdr.Set("Cross-Origin-Resource-Policy", "same-origin")
	hdr.Set("Cache-Control", "private, max-age=86400")
	http.ServeContent(w, r, "", st.ModTime(), f)
}

// Exists reports whether an attachment row exists (for tests and sweeps).
func (s *Store) Exists(ctx context.Context, tenantID, attID string) (bool, error) {
	var n int
	err := s.db.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM attachments WHERE tenant_id = $1 AND id = $2`, tenantID, attID).Scan(&n)
	return n > 0, err
}
