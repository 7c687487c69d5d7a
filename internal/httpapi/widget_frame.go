package httpapi

import (
	"html/template"
	"net/http"
	"strings"

	"tiski/internal/apperr"
	"tiski/internal/validate"
)

// The widget frame is the page the loader (widget.js) puts in an iframe on
// the shop's page. It is served from Tiski's origin so that the shop's CSS
// and scripts cannot reach the chat, and its strict policy lets only the
// shop's allowed origins embed it and only Tiski's own scripts run in it.
var framePage = template.Must(template.New("frame").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>Chat</title>
<link rel="stylesheet" href="{{.CSS}}">
</head><body>
<div id="tiski" data-site="{{.Key}}" data-host="{{.Host}}"></div>
<script src="{{.JS}}"></script>
</body></html>`))

// widgetFrame serves GET /widget/{key}/frame?host=ORIGIN. host is the
// shop page's origin, which the frame talks to by postMessage; it must be
// one of the site's allowed origins (or Tiski's own, for its test page).
func (s *Server) widgetFrame(w http.ResponseWriter, r *http.Request) {
	st, err := s.Sites.ByWidgetKey(r.Context(), r.PathValue("key"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	own := s.ownOrigin(r)
	host, herr := validate.Origin("host", r.URL.Query().Get("host"))
	if herr != nil {
		s.writeError(w, r, herr)
		return
	}
	if !st.AllowsOrigin(host, own) {
		s.writeError(w, r, apperr.New(apperr.Forbidden, "this page's origin is not allowed to use the site's chat; add it to the site's allowed origins"))
		return
	}
	js, css := s.assetURL("widget-app.js"), s.assetURL("widget-frame.css")
	if js == "" || css == "" {
		s.writeError(w, r, apperr.New(apperr.Unavailable, "the widget was not built (run make web)"))
		return
	}
	ancestors := append([]string{own}, st.Origins...)
	connect := "'self' " + strings.Replace(strings.Replace(own, "https://", "wss://", 1), "http://", "ws://", 1)
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "+
		"connect-src "+connect+"; media-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors "+strings.Join(ancestors, " "))
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "geolocation=(), microphone=(), payment=(), usb=()")
	_ = framePage.Execute(w, map[string]string{"Lang": st.Language, "Key": st.WidgetKey, "Host": host, "JS": js, "CSS": css})
}
