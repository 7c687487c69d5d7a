package httpapi

import (
	"net/http"

	"tiski/internal/user"
)

// photoRoutes: agents' profile photos. Uploads go through the console API
// (session + CSRF); the images themselves are public under random,
// per-photo keys so the widget on any shop can show them.
func (s *Server) photoRoutes(m *http.ServeMux) {
	c := "/api/console/v1"
	m.Handle("PUT "+c+"/me/photo", s.agent(user.Agent, s.putMyPhoto))
	m.Handle("POST "+c+"/me/photo", s.agent(user.Agent, s.putMyPhoto))
	m.Handle("DELETE "+c+"/me/photo", s.agent(user.Agent, s.deleteMyPhoto))
	m.Handle("PUT "+c+"/users/{id}/photo", s.agent(user.Admin, s.putUserPhoto))
	m.Handle("DELETE "+c+"/users/{id}/photo", s.agent(user.Admin, s.deleteUserPhoto))
	m.HandleFunc("GET /avatars/{file}", s.avatar)
}
