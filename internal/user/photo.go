package user

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"image"
	_ "image/jpeg" // decoders for uploads
	"image/png"
	"net/http"

	"golang.org/x/image/draw"
	_ "golang.org/x/image/webp"

	"tiski/internal/apperr"
)

// Photo limits. Uploads are decoded and drawn afresh into a small square
// PNG, so metadata (EXIF, GPS), trailing payloads and odd encodings never
// reach a browser; only pixels survive.
const (
	MaxPhotoBytes  = 5 << 20 // upload size
	PhotoSize      = 128     // side of the stored square, in pixels
	maxPhotoPixels = 40e6    // decoded area (a decompression bomb guard)
)

// PhotoURL is where browsers load a photo; the key is random per photo.
func PhotoURL(key string) string {
	if key == "" {
		return ""
	}
	return "/avatars/" + key + ".png"
}

// NormalizePhoto checks an uploaded PNG, JPEG or WebP by its content (not
// its name or declared type) and returns it centre-cropped and scaled to a
// PhotoSize square PNG.
func NormalizePhoto(data []byte) ([]byte, error) {
	if len(data) == 0 {
		return nil, apperr.FieldError("photo", "the photo is empty")
	}
	if len(data) > MaxPhotoBytes {
		return nil, apperr.New(apperr.TooLarge, "the photo is larger than 5 MiB")
	}
	switch http.DetectContentType(data) {
	case "image/png", "image/jpeg", "image/webp":
	default:
		return nil, apperr.FieldError("photo", "the photo must be a PNG, JPEG or WebP image")
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, apperr.FieldError("photo", "the photo could not be read")
	}
	if cfg.Width < 1 || cfg.Height < 1 || float64(cfg.Width)*float64(cfg.Height) > maxPhotoPixels {
		return nil, apperr.FieldError("photo", "the photo must be at most 40 megapixels")
	}
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, apperr.FieldError("photo", "the photo could not be read")
	}
	b := src.Bounds()
	side := min(b.Dx(), b.Dy())
	x0, y0 := b.Min.X+(b.Dx()-side)/2, b.Min.Y+(b.Dy()-side)/2
	dst := image.NewRGBA(image.Rect(0, 0, PhotoSize, PhotoSize))
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, image.Rect(x0, y0, x0+side, y0+side), draw.Src, nil)
	var out bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&out, dst); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// SetPhoto replaces a user's photo with the normalised upload.
func (s *Store) SetPhoto(ctx context.Context, tenantID, userID string, upload []byte) (User, error) {
	img, err := NormalizePhoto(upload)
	if err != nil {
		return User{}, err
	}
	key := rand.Text() // 128 random bits: the public URL is unguessable
	err = s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := GetTx(ctx, tx, tenantID, userID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM user_photos WHERE tenant_id = $1 AND user_id = $2`, tenantID, userID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO user_photos (photo_key, tenant_id, user_id, image, created_at)
			VALUES ($1, $2, $3, $4, $5)`, key, tenantID, userID, img, s.clock.Now()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE users SET photo_key = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4`,
			key, s.clock.Now(), tenantID, userID)
		return err
	})
	if err != nil {
		return User{}, err
	}
	return s.Get(ctx, tenantID, userID)
}

// RemovePhoto deletes a user's photo; the avatar falls back to initials.
func (s *Store) RemovePhoto(ctx context.Context, tenantID, userID string) (User, error) {
	err := s.db.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := GetTx(ctx, tx, tenantID, userID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM user_photos WHERE tenant_id = $1 AND user_id = $2`, tenantID, userID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE users SET photo_key = '', updated_at = $1 WHERE tenant_id = $2 AND id = $3`,
			s.clock.Now(), tenantID, userID)
		return err
	})
	if err != nil {
		return User{}, err
	}
	return s.Get(ctx, tenantID, userID)
}

// PhotoByKey returns a stored photo's PNG bytes.
func (s *Store) PhotoByKey(ctx context.Context, key string) ([]byte, error) {
	var img []byte
	err := s.db.Read().QueryRowContext(ctx, `SELECT image FROM user_photos WHERE photo_key = $1`, key).Scan(&img)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.New(apperr.NotFound, "no such photo")
	}
	return img, err
}
