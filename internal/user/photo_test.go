package user_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"

	"tiski/internal/apperr"
	"tiski/internal/user"
)

func testImage(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		for y := range h {
			c := color.NRGBA{R: 200, G: 40, B: 40, A: 255} // red in the middle third
			if x < w/3 || x >= 2*w/3 {
				c = color.NRGBA{R: 20, G: 40, B: 220, A: 255}
			}
			img.Set(x, y, c)
		}
	}
	return img
}

func encPNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withExif puts an APP1 Exif segment with a marker text after a JPEG's SOI.
func withExif(t *testing.T, img image.Image, marker string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	payload := append([]byte("Exif\x00\x00"), marker...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	j := b.Bytes()
	return append(append(append([]byte{}, j[:2]...), append(seg, payload...)...), j[2:]...)
}

// bombPNG is a valid PNG header that claims a huge image.
func bombPNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	chunk := append([]byte("IHDR"), ihdr...)
	binary.Write(&b, binary.BigEndian, uint32(13))
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func TestNormalizePhoto(t *testing.T) {
	out, err := user.NormalizePhoto(encPNG(t, testImage(300, 120)))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != user.PhotoSize || b.Dy() != user.PhotoSize {
		t.Fatalf("size %v, want a %d square", b, user.PhotoSize)
	}
	// The centre square of a 300×120 image is mostly the red band.
	if r, _, b, _ := img.At(64, 64).RGBA(); r>>8 < 150 || b>>8 > 100 {
		t.Fatalf("centre pixel %v: not cropped around the centre", img.At(64, 64))
	}

	out, err = user.NormalizePhoto(withExif(t, testImage(64, 64), "GPS 60.17N 24.94E secret"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out, []byte("secret")) || bytes.Contains(out, []byte("Exif")) {
		t.Fatal("EXIF metadata survived re-encoding")
	}

	// A 1×1 lossless WebP is accepted and becomes a PNG like any other.
	webp, _ := base64.StdEncoding.DecodeString("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")
	if out, err := user.NormalizePhoto(webp); err != nil || !bytes.HasPrefix(out, []byte("\x89PNG")) {
		t.Fatalf("WebP: %v", err)
	}

	var g bytes.Buffer
	if err := gif.Encode(&g, testImage(8, 8), nil); err != nil {
		t.Fatal(err)
	}
	good := encPNG(t, testImage(8, 8))
	for name, tc := range map[string]struct {
		data []byte
		code apperr.Code
	}{
		"empty":           {nil, apperr.Invalid},
		"text":            {[]byte("hello, I am not a picture at all"), apperr.Invalid},
		"html":            {[]byte("<html><script>alert(1)</script></html>"), apperr.Invalid},
		"gif":             {g.Bytes(), apperr.Invalid},
		"truncated png":   {good[:len(good)/2], apperr.Invalid},
		"too large":       {append(good, make([]byte, user.MaxPhotoBytes)...), apperr.TooLarge},
		"huge dimensions": {bombPNG(100000, 100000), apperr.Invalid},
	} {
		if _, err := user.NormalizePhoto(tc.data); !apperr.Is(err, tc.code) {
			t.Errorf("%s: %v, want %s", name, err, tc.code)
		}
	}
}

func TestSetAndRemovePhoto(t *testing.T) {
	ctx := context.Background()
	s, tn, ts := setup(t)
	u, err := s.Create(ctx, tn.ID, user.New{Email: "aino@kauppa.example", Name: "Aino Virtanen", Role: user.Agent, Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	if u.PhotoURL != "" {
		t.Fatalf("new user has a photo: %q", u.PhotoURL)
	}
	u1, err := s.SetPhoto(ctx, tn.ID, u.ID, encPNG(t, testImage(40, 40)))
	if err != nil || u1.PhotoURL == "" {
		t.Fatalf("set: %v %q", err, u1.PhotoURL)
	}
	u2, err := s.SetPhoto(ctx, tn.ID, u.ID, encPNG(t, testImage(50, 40)))
	if err != nil || u2.PhotoURL == u1.PhotoURL {
		t.Fatalf("replacing must change the URL: %v %q %q", err, u1.PhotoURL, u2.PhotoURL)
	}
	key := func(url string) string { return url[len("/avatars/") : len(url)-len(".png")] }
	if _, err := s.PhotoByKey(ctx, key(u1.PhotoURL)); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("old photo still served: %v", err)
	}
	if img, err := s.PhotoByKey(ctx, key(u2.PhotoURL)); err != nil || !bytes.HasPrefix(img, []byte("\x89PNG")) {
		t.Fatalf("new photo: %v", err)
	}

	// The online list carries the photo.
	if err := s.SetStatus(ctx, tn.ID, u.ID, user.Online); err != nil {
		t.Fatal(err)
	}
	on, err := s.OnlineAgents(ctx, tn.ID, 3)
	if err != nil || len(on) != 1 || on[0].PhotoURL != u2.PhotoURL || on[0].Name != "Aino Virtanen" {
		t.Fatalf("online: %v %+v", err, on)
	}

	// Another tenant cannot touch the user.
	other, err := ts.Create(ctx, "Muu Oy")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetPhoto(ctx, other.ID, u.ID, encPNG(t, testImage(8, 8))); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("cross-tenant set: %v", err)
	}
	if _, err := s.RemovePhoto(ctx, other.ID, u.ID); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("cross-tenant remove: %v", err)
	}
	// A refused upload keeps the old photo.
	if _, err := s.SetPhoto(ctx, tn.ID, u.ID, []byte("not an image")); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("bad upload: %v", err)
	}
	if g, _ := s.Get(ctx, tn.ID, u.ID); g.PhotoURL != u2.PhotoURL {
		t.Fatalf("refused upload changed the photo: %q", g.PhotoURL)
	}

	u3, err := s.RemovePhoto(ctx, tn.ID, u.ID)
	if err != nil || u3.PhotoURL != "" {
		t.Fatalf("remove: %v %q", err, u3.PhotoURL)
	}
	if _, err := s.PhotoByKey(ctx, key(u2.PhotoURL)); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("removed photo still served: %v", err)
	}
}
