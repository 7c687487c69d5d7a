package httpapi

import (
	"html/template"
	"net/http"
)

// consoleCSP is the console page's Content-Security-Policy. The console is
// one hashed script and one hashed style sheet from this origin; it talks
// only to this origin (the API and the realtime socket, which 'self'
// covers for ws: and wss:). Trusted Types forbid assigning strings to
// HTML sinks such as innerHTML, so text from shoppers can only ever reach
// the page as text, whatever a future change to the front-end does.
const consoleCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"media-src 'self' blob:; connect-src 'self'; font-src 'self'; manifest-src 'self'; form-action 'self'; " +
	"base-uri 'none'; frame-ancestors 'none'; object-src 'none'; require-trusted-types-for 'script'; trusted-types 'none'"

var consolePageTmpl = template.Must(template.New("console").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="color-scheme" content="light">
<title>Tiski</title>
{{if .CSS}}<link rel="stylesheet" href="{{.CSS}}">{{end}}
{{if .JS}}<script defer src="{{.JS}}"></script>{{end}}
</head><body>
<div id="app">{{if not .JS}}<p>The console's front-end was not built into this binary: run <code>make build</code>.</p>{{end}}</div>
<noscript><p>The Tiski console needs JavaScript.</p></noscript>
</body></html>`))

// consolePage serves GET /console: the single page of the agent console.
// The page itself is tiny and never cached, so that a new release's hashed
// assets are picked up at once; the assets are cached for good.
func (s *Server) consolePage(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", consoleCSP)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
	_ = consolePageTmpl.Execute(w, map[string]string{"JS": s.assetURL("console.js"), "CSS": s.assetURL("console.css")})
}
