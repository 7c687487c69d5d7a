package attachment_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"tiski/client"
	"tiski/internal/apperr"
	"tiski/internal/attachment"
	"tiski/internal/chat"
	"tiski/internal/clock"
	"tiski/internal/testsrv"
)

func TestCleanName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"kuva.png", "kuva.png"},
		{"Kesä 2026 – ranta.JPG", "Kesä 2026 – ranta.JPG"},
		{"../../etc/passwd", "passwd"},
		{"/var/lib/tiski/tiski.db", "tiski.db"},
		{`C:\Users\aino\Desktop\lasku.pdf`, "lasku.pdf"},
		{`..\..\windows\win.ini`, "win.ini"},
		{"dir/", "file"},
		{"..", "file"},
		{".", "file"},
		{"", "file"},
		{"   ", "file"},
		{".htaccess", "htaccess"},
		{"kuva.png.", "kuva.png"},
		{"  kuva .png  ", "kuva .png"},
		{"a\x00b\x01c\x7f.png", "abc.png"},
		{"rivi\nvaihto\r\t.png", "rivivaihto.png"},
		{"lasku\u202Efdp.exe", "laskufdp.exe"},             // right-to-left override
		{"\u200Fkuva\u2066x\u2069.png\u200E", "kuvax.png"}, // marks and isolates
		{"\u061Cnimi.png", "nimi.png"},                     // Arabic letter mark
		{`say "hi".png`, "say hi.png"},
		{`"; filename="evil.html`, "; filename=evil.html"},
		{"it's.png", "it's.png"},
		{"kuva\u0085.png", "kuva.png"},   // NEL, a C1 control
		{"\xff\xfekuva.png", "kuva.png"}, // invalid UTF-8
		{"ok\xc3.png", "ok.png"},
		{strings.Repeat("ä", 200) + ".png", strings.Repeat("ä", 120)},
		{"😀.gif", "😀.gif"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got := attachment.CleanName(tc.in)
			if got != tc.want {
				t.Fatalf("CleanName(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if !utf8.ValidString(got) || strings.ContainsAny(got, "/\\\"") || utf8.RuneCountInString(got) > 120 {
				t.Fatalf("CleanName(%q) = %q is not safe", tc.in, got)
			}
			if again := attachment.CleanName(got); again != got {
				t.Fatalf("CleanName is not stable: %q then %q", got, again)
			}
		})
	}
}

func encoded(t *testing.T, enc func(io.Writer, image.Image) error) []byte {
	t.Helper()
	img := image.NewPaletted(image.Rect(0, 0, 4, 3), color.Palette{color.Black, color.White})
	var buf bytes.Buffer
	if err := enc(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var pdf = []byte("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

func newStore(t *testing.T, c clock.Clock, max int64) (*attachment.Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := attachment.NewStore(dir, []byte("test secret"), nil, c, max)
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

// tmpFiles lists what is left in the store's upload temp dir.
func tmpFiles(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(filepath.Join(dir, "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func TestSaveChecksTheContent(t *testing.T) {
	pngData := encoded(t, png.Encode)
	jpegData := encoded(t, func(w io.Writer, m image.Image) error { return jpeg.Encode(w, m, nil) })
	gifData := encoded(t, func(w io.Writer, m image.Image) error { return gif.Encode(w, m, nil) })
	webp := append([]byte("RIFF\x24\x00\x00\x00WEBPVP8 "), make([]byte, 40)...)
	bomb := bytes.Clone(pngData)
	copy(bomb[16:24], []byte{0, 0x01, 0, 0, 0, 0x01, 0, 0}) // 65536 × 65536
	fixCRC(bomb)
	const tenant = "01a20000-0000-7000-8000-000000000001"
	for _, tc := range []struct {
		name, file string
		data       []byte
		ctype      string // "" when refused
		stored     string
		code       apperr.Code
	}{
		{"PNG", "kuva.png", pngData, "image/png", "kuva.png", ""},
		{"JPEG as .jpeg", "kuva.jpeg", jpegData, "image/jpeg", "kuva.jpeg", ""},
		{"JPEG as .JPG", "KUVA.JPG", jpegData, "image/jpeg", "KUVA.JPG", ""},
		{"GIF", "animaatio.gif", gifData, "image/gif", "animaatio.gif", ""},
		{"WebP", "kuva.webp", webp, "image/webp", "kuva.webp", ""},
		{"PDF", "lasku.pdf", pdf, "application/pdf", "lasku.pdf", ""},
		{"PNG named as PDF", "lasku.pdf", pngData, "image/png", "lasku.pdf.png", ""},
		{"PDF named as PNG", "kuva.png", pdf, "application/pdf", "kuva.png.pdf", ""},
		{"PNG without a name", "", pngData, "image/png", "file.png", ""},
		{"PNG with a path", "../../kuva.png", pngData, "image/png", "kuva.png", ""},
		{"HTML", "sivu.html", []byte("<!doctype html><script>alert(1)</script>"), "", "", apperr.Unsupported},
		{"HTML named as PNG", "kuva.png", []byte("<html><body>hei</body></html>"), "", "", apperr.Unsupported},
		{"SVG named as PNG", "kuva.png", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`), "", "", apperr.Unsupported},
		{"XML", "data.xml", []byte(`<?xml version="1.0"?><a/>`), "", "", apperr.Unsupported},
		{"text", "muistio.txt", []byte("pelkkää tekstiä"), "", "", apperr.Unsupported},
		{"ZIP", "arkisto.zip", []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00"), "", "", apperr.Unsupported},
		{"ELF", "ohjelma.png", append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 64)...), "", "", apperr.Unsupported},
		{"PNG signature only", "kuva.png", pngData[:8], "", "", apperr.Invalid},
		{"PNG with a broken header", "kuva.png", append(bytes.Clone(pngData[:16]), 0xff, 0xff), "", "", apperr.Invalid},
		{"decompression bomb", "pommi.png", bomb, "", "", apperr.Invalid},
		{"empty", "tyhjä.png", nil, "", "", apperr.Invalid},
		{"one byte over the limit", "iso.pdf", append(bytes.Clone(pdf), make([]byte, 1025-len(pdf))...), "", "", apperr.TooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, dir := newStore(t, clock.Real(), 1024)
			a, err := s.Save(tenant, tc.file, bytes.NewReader(tc.data))
			if left := tmpFiles(t, dir); len(left) != 0 {
				t.Fatalf("temp files left: %q", left)
			}
			if tc.code != "" {
				if apperr.CodeOf(err) != tc.code || a != nil {
					t.Fatalf("Save: %v, want code %s", err, tc.code)
				}
				files, _ := filepath.Glob(filepath.Join(dir, tenant, "*", "*"))
				if len(files) != 0 {
					t.Fatalf("a refused file was stored: %q", files)
				}
				return
			}
			if err != nil {
				t.Fatalf("Save: %v", err)
			}
			sum := sha256.Sum256(tc.data)
			if a.ContentType != tc.ctype || a.Name != tc.stored || a.Size != int64(len(tc.data)) || a.SHA256 != hex.EncodeToString(sum[:]) {
				t.Fatalf("attachment %+v", a)
			}
			if a.StorageKey != tenant+"/"+a.ID[:8]+"/"+a.ID {
				t.Fatalf("storage key %q", a.StorageKey)
			}
			path := filepath.Join(dir, filepath.FromSlash(a.StorageKey))
			got, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(got, tc.data) {
				t.Fatalf("stored file: %v", err)
			}
			s.Remove(a)
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("Remove left the file: %v", err)
			}
		})
	}
}

// fixCRC recomputes the checksum of a PNG's header chunk, which the
// decoder verifies.
func fixCRC(p []byte) {
	binary.BigEndian.PutUint32(p[29:33], crc32.ChecksumIEEE(p[12:29]))
}

type failingReader struct{ after int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	n := min(len(p), f.after)
	for i := range p[:n] {
		p[i] = 'x'
	}
	f.after -= n
	return n, nil
}

func TestSaveOfAnInterruptedUploadLeavesNothing(t *testing.T) {
	s, dir := newStore(t, clock.Real(), 1<<20)
	_, err := s.Save("01a20000-0000-7000-8000-000000000001", "kuva.png", &failingReader{after: 5000})
	if apperr.CodeOf(err) != apperr.Invalid {
		t.Fatalf("Save: %v", err)
	}
	if left := tmpFiles(t, dir); len(left) != 0 {
		t.Fatalf("temp files left: %q", left)
	}
	_, err = s.Save("01a20000-0000-7000-8000-000000000001", "kuva.png", http.MaxBytesReader(nil, io.NopCloser(bytes.NewReader(make([]byte, 3000))), 2000))
	if apperr.CodeOf(err) != apperr.TooLarge {
		t.Fatalf("Save past a request limit: %v", err)
	}
}

func TestFileURLSignatureAndExpiry(t *testing.T) {
	fc := clock.NewFake(time.Date(2026, 3, 2, 0, 0, 1, 0, time.UTC))
	s, _ := newStore(t, fc, 1<<20)
	mux := http.NewServeMux()
	mux.Handle("GET /files/{tenant}/{id}", s)
	get := func(u string) int {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", u, nil))
		return rec.Code
	}
	const tenant = "01a20000-0000-7000-8000-000000000001"
	a := chat.Attachment{ID: "01a20000-0000-7000-8000-0000000000aa"}
	u := s.FileURL(tenant, a)
	fc.Advance(23 * time.Hour)
	if again := s.FileURL(tenant, a); again != u {
		t.Fatalf("URL changed within a day: %q, %q", u, again)
	}
	parsed, err := url.Parse(u)
	if err != nil || parsed.Path != "/files/"+tenant+"/"+a.ID {
		t.Fatalf("URL %q", u)
	}
	q := parsed.Query()
	exp, sig := q.Get("exp"), q.Get("sig")
	other := s.FileURL("01a20000-0000-7000-8000-000000000002", a)
	for name, bad := range map[string]string{
		"no signature":                parsed.Path + "?exp=" + exp,
		"signature of another tenant": parsed.Path + "?exp=" + exp + "&sig=" + strings.SplitN(other, "sig=", 2)[1],
		"signature in upper case":     parsed.Path + "?exp=" + exp + "&sig=" + strings.ToUpper(sig),
		"signature cut short":         parsed.Path + "?exp=" + exp + "&sig=" + sig[:32],
		"later expiry":                parsed.Path + "?exp=" + exp + "0&sig=" + sig,
		"another file":                "/files/" + tenant + "/01a20000-0000-7000-8000-0000000000ab?exp=" + exp + "&sig=" + sig,
		"another store's secret":      strings.Replace(u, sig, signWith(t, fc, tenant, a), 1),
		"tenant that is not an id":    "/files/..%2f..%2f/" + a.ID + "?exp=" + exp + "&sig=" + sig,
		"expiry that is not a number": parsed.Path + "?exp=tomorrow&sig=" + sig,
		"expiry with a sign":          parsed.Path + "?exp=+" + exp + "&sig=" + sig,
	} {
		if code := get(bad); code != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", name, code)
		}
	}
	fc.Advance(25*time.Hour + time.Second) // two days after the day the link was made
	if code := get(u); code != http.StatusGone {
		t.Fatalf("expired link: status %d, want 410", code)
	}
	if fresh := s.FileURL(tenant, a); fresh == u {
		t.Fatal("no fresh link after expiry")
	}
}

func signWith(t *testing.T, c clock.Clock, tenant string, a chat.Attachment) string {
	other, err := attachment.NewStore(t.TempDir(), []byte("another secret"), nil, c, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	return strings.SplitN(other.FileURL(tenant, a), "sig=", 2)[1]
}

// TestServedNamesSurviveTheHeader: whatever a client names a file, the
// Content-Disposition header parses (RFC 6266) back to the stored name.
func TestServedNamesSurviveTheHeader(t *testing.T) {
	env := testsrv.Start(t, testsrv.Options{})
	ctx := t.Context()
	v, err := client.New(env.URL, testsrv.ShopOrigin).NewVisitor(ctx, env.Site.WidgetKey, "fi")
	if err != nil {
		t.Fatal(err)
	}
	pngData := encoded(t, png.Encode)
	for i, name := range []string{
		"kuva.png", "kesäkuva.png", "Ääkköset ÅÖ.png", "日本語の写真.png", "😀 hymy.png", "semi;colon.png",
		"comma,and=equals.png", "per%cent.png", "star*and'quote.png", "back\\slash.png", `"quoted".png`,
		"(paren) [bracket] {brace}.png", "tab\tand  spaces.png", "ümlaut\u202e.png", strings.Repeat("pitkä", 40) + ".png",
	} {
		ack, err := v.Upload(ctx, "", "f"+string(rune('a'+i)), name, pngData)
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		resp, err := http.Get(env.URL + ack.M.File.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		cd := resp.Header.Get("Content-Disposition")
		disp, params, err := mime.ParseMediaType(cd)
		if resp.StatusCode != 200 || err != nil || disp != "inline" || params["filename"] != ack.M.File.Name {
			t.Errorf("%q stored as %q: Content-Disposition %q parses to %q %q (%v)", name, ack.M.File.Name, cd, disp, params, err)
		}
		for _, c := range cd {
			if c < 0x20 || c > 0x7e {
				t.Errorf("%q: Content-Disposition %q is not plain ASCII", name, cd)
				break
			}
		}
	}
}
