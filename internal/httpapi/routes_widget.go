package httpapi

import "net/http"

// widgetRoutes is the widget API: shoppers, bearer tokens, CORS for the
// site's allowed origins. Every route here needs bad-input cases
// (badinput_test.go reads this table).
func (s *Server) widgetRoutes(m *http.ServeMux) {
	w := "/api/widget/v1/sites/{key}"
	m.Handle("OPTIONS "+w+"/", s.widgetPreflight())
	m.Handle("GET "+w, s.widget(false, s.siteConfig))
	m.Handle("POST "+w+"/visitors", s.widget(false, s.createVisitor))
	m.Handle("GET "+w+"/me", s.widget(true, s.getMe))
	m.Handle("PATCH "+w+"/me", s.widget(true, s.patchMe))
	m.Handle("GET "+w+"/conversations", s.widget(true, s.visitorConversations))
	m.Handle("POST "+w+"/conversations", s.widget(true, s.startConversation))
	m.Handle("GET "+w+"/conversations/{id}/messages", s.widget(true, s.visitorMessages))
	m.Handle("POST "+w+"/conversations/{id}/close", s.widget(true, s.visitorClose))
	m.Handle("POST "+w+"/conversations/{id}/rating", s.widget(true, s.rate))
	m.Handle("POST "+w+"/files", s.widget(true, s.visitorUpload))
	m.Handle("GET "+w+"/rt", s.widget(false, s.visitorWS))
	m.Handle("POST "+w+"/rt/sse", s.widget(false, s.visitorSSE))
	m.Handle("POST "+w+"/rt/frames", s.widget(true, s.visitorFrames))
	// Context, identity, offline form and transcripts (widget_context.go).
	m.Handle("POST "+w+"/me/pages", s.widget(true, s.recordPages))
	m.Handle("POST "+w+"/me/events", s.widget(true, s.track))
	m.Handle("POST "+w+"/identify", s.widget(true, s.identify))
	m.Handle("POST "+w+"/offline", s.widget(true, s.offline))
	m.Handle("POST "+w+"/conversations/{id}/transcript", s.widget(true, s.visitorTranscript))
	// The page of the widget's iframe (widget_frame.go).
	m.HandleFunc("GET /widget/{key}/frame", s.widgetFrame)
}
