package httpapi_test

import (
	"bytes"
	"encoding/json"
	"image/png"
	"strings"
	"testing"

	"tiski/internal/testsrv"
	"tiski/internal/user"
)

func init() {
	moreBadCases = append(moreBadCases, photoBadCases)
}

func photoBadCases(w *world, t *testing.T) []badCase {
	var cs []badCase
	add := func(more ...badCase) { cs = append(cs, more...) }
	img := pngBytes(t)
	leaks := []string{secretA, nameA, secretB, nameB}
	bad := func(route, name, path string, body []byte, o []opt, status int, code, field string) badCase {
		return badCase{route: route, name: name, path: path, body: body, opts: o, status: status, code: code, field: field, leak: leaks}
	}
	noPhoto, noPhotoCT := multipartBody(t, formPart{name: "picture", filename: "a.png", data: img})
	textForm, textFormCT := multipartBody(t, formPart{name: "photo", filename: "a.png", data: []byte("<svg onload=alert(1)>")})
	big := append(append([]byte{}, img...), make([]byte, user.MaxPhotoBytes+100<<10)...)
	uploads := func(r, p string, o []opt) {
		add(
			bad(r, "empty body", p, nil, o, 400, "invalid", "photo"),
			bad(r, "text body", p, []byte("not a picture"), o, 400, "invalid", "photo"),
			bad(r, "SVG body", p, []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), o, 400, "invalid", "photo"),
			bad(r, "truncated PNG", p, img[:len(img)/2], o, 400, "invalid", "photo"),
			bad(r, "too large", p, big, o, 413, "too_large", ""),
			bad(r, "form without photo field", p, noPhoto, append(o, ctype(noPhotoCT)), 400, "invalid", "photo"),
			bad(r, "form with text as photo", p, textForm, append(o, ctype(textFormCT)), 400, "invalid", "photo"),
		)
	}
	ag := []opt{w.agent.auth()}
	for _, m := range []string{"PUT", "POST"} {
		r := m + " " + cr + "/me/photo"
		add(w.consoleCases(r, cr+"/me/photo", img, nil, false)...)
		uploads(r, cr+"/me/photo", ag)
	}
	add(w.consoleCases("DELETE "+cr+"/me/photo", cr+"/me/photo", nil, nil, false)...)

	other := cr + "/users/" + w.agentUser.ID + "/photo"
	ownerPath := cr + "/users/" + w.owner.userID + "/photo"
	crossTenant := cr + "/users/" + w.agentBUser.ID + "/photo"
	ad := []opt{w.admin.auth()}
	r := "PUT " + cr + "/users/{id}/photo"
	add(w.consoleCases(r, other, img, nil, true)...)
	uploads(r, other, ad)
	add(
		bad(r, "another tenant's user", crossTenant, img, ad, 404, "not_found", ""),
		bad(r, "unknown user", cr+"/users/nope/photo", img, ad, 404, "not_found", ""),
		bad(r, "admin changing the owner", ownerPath, img, ad, 403, "forbidden", ""),
		bad(r, "agent changing themselves by id", cr+"/users/"+w.agent.userID+"/photo", img, ag, 403, "forbidden", ""),
	)
	r = "DELETE " + cr + "/users/{id}/photo"
	add(w.consoleCases(r, other, nil, nil, true)...)
	add(
		bad(r, "another tenant's user", crossTenant, nil, ad, 404, "not_found", ""),
		bad(r, "unknown user", cr+"/users/nope/photo", nil, ad, 404, "not_found", ""),
		bad(r, "admin changing the owner", ownerPath, nil, ad, 403, "forbidden", ""),
	)
	r = "GET /avatars/{file}"
	for name, p := range map[string]string{
		"unknown key":      "/avatars/ABCDEFGHIJKLMNOPQRSTUVWXYZ.png",
		"no extension":     "/avatars/ABCDEFGHIJKLMNOPQRSTUVWXYZ",
		"other extension":  "/avatars/ABCDEFGHIJKLMNOPQRSTUVWXYZ.svg",
		"short key":        "/avatars/a.png",
		"punctuation":      "/avatars/a%27%20or%201%3D1.png",
		"overlong key":     "/avatars/" + strings.Repeat("A", 200) + ".png",
		"user id for key":  "/avatars/" + w.agentUser.ID + ".png",
		"encoded slash":    "/avatars/..%2f..%2fetc.png",
		"cookie no help":   "/avatars/ZZZZZZZZZZZZZZZZZZZZZZZZZZ.png",
		"query no help":    "/avatars/ZZZZZZZZZZZZZZZZZZZZZZZZZZ.png?v=1",
		"double extension": "/avatars/ZZZZZZZZZZZZZZZZZZZZZZZZZZ.png.png",
	} {
		add(bad(r, name, p, nil, []opt{w.owner.auth()}, 404, "not_found", ""))
	}
	return cs
}

// TestPhotos: an agent uploads their photo (raw body and form), it is
// served re-encoded with safe headers under a new URL each time, shows in
// the console's user JSON and the widget's online team, and an admin can
// set and remove another agent's photo.
func TestPhotos(t *testing.T) {
	w := newWorld(t)
	base := w.env.URL
	raw := send(t, base, "PUT", cr+"/me/photo", pngBytes(t), w.agent.auth())
	u1 := decode[user.User](t, raw, 200)
	if !strings.HasPrefix(u1.PhotoURL, "/avatars/") || !strings.HasSuffix(u1.PhotoURL, ".png") || strings.Contains(u1.PhotoURL, u1.ID) {
		t.Fatalf("photo_url %q", u1.PhotoURL)
	}
	got := send(t, base, "GET", u1.PhotoURL, nil)
	if got.status != 200 {
		t.Fatalf("GET photo: %d %s", got.status, got.body)
	}
	h := got.header
	if h.Get("Content-Type") != "image/png" || h.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.Contains(h.Get("Content-Security-Policy"), "sandbox") || !strings.Contains(h.Get("Cache-Control"), "immutable") {
		t.Fatalf("photo headers: %v", h)
	}
	img, err := png.Decode(bytes.NewReader(got.body))
	if err != nil || img.Bounds().Dx() != user.PhotoSize || img.Bounds().Dy() != user.PhotoSize {
		t.Fatalf("served photo: %v %v", err, img)
	}

	body, ct := multipartBody(t, formPart{name: "photo", filename: "me.png", data: pngBytes(t)})
	u2 := decode[user.User](t, send(t, base, "POST", cr+"/me/photo", body, w.agent.auth(), ctype(ct)), 200)
	if u2.PhotoURL == "" || u2.PhotoURL == u1.PhotoURL {
		t.Fatalf("a new photo needs a new URL: %q after %q", u2.PhotoURL, u1.PhotoURL)
	}
	if r := send(t, base, "GET", u1.PhotoURL, nil); r.status != 404 {
		t.Fatalf("replaced photo still served: %d", r.status)
	}

	// The console's user list and /me show it.
	var list struct {
		Users []user.User `json:"users"`
	}
	if err := json.Unmarshal(send(t, base, "GET", cr+"/users", nil, w.owner.auth()).body, &list); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, u := range list.Users {
		found = found || u.ID == w.agentUser.ID && u.PhotoURL == u2.PhotoURL
	}
	if !found {
		t.Fatalf("user list lacks the photo: %+v", list)
	}
	if r := send(t, base, "GET", cr+"/me", nil, w.agent.auth()); !bytes.Contains(r.body, []byte(u2.PhotoURL)) {
		t.Fatalf("/me lacks the photo: %s", r.body)
	}

	// The widget shows the online agent's photo, with the first name only.
	if err := w.env.Users.SetStatus(ctxT(t), w.env.Tenant.ID, w.agentUser.ID, user.Online); err != nil {
		t.Fatal(err)
	}
	cfg := decode[struct {
		Team []user.OnlineAgent `json:"team"`
	}](t, send(t, base, "GET", w.wA, nil, origin(testsrv.ShopOrigin)), 200)
	first, _, _ := strings.Cut(w.agentUser.Name, " ")
	if len(cfg.Team) != 1 || cfg.Team[0].PhotoURL != u2.PhotoURL || cfg.Team[0].Name != first {
		t.Fatalf("widget team %+v", cfg.Team)
	}

	// An admin replaces and removes another agent's photo.
	path := cr + "/users/" + w.agentUser.ID + "/photo"
	u3 := decode[user.User](t, send(t, base, "PUT", path, pngBytes(t), w.admin.auth()), 200)
	if u3.PhotoURL == "" || u3.PhotoURL == u2.PhotoURL {
		t.Fatalf("admin set: %q", u3.PhotoURL)
	}
	u4 := decode[user.User](t, send(t, base, "DELETE", path, nil, w.admin.auth()), 200)
	if u4.PhotoURL != "" {
		t.Fatalf("admin remove left %q", u4.PhotoURL)
	}
	if r := send(t, base, "GET", u3.PhotoURL, nil); r.status != 404 {
		t.Fatalf("removed photo still served: %d", r.status)
	}
	// And an agent removes their own.
	send(t, base, "PUT", cr+"/me/photo", pngBytes(t), w.agent.auth())
	if u := decode[user.User](t, send(t, base, "DELETE", cr+"/me/photo", nil, w.agent.auth()), 200); u.PhotoURL != "" {
		t.Fatalf("own remove left %q", u.PhotoURL)
	}
}
