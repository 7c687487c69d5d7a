package httpapi

import (
	"net/http"

	"tiski/internal/user"
)

// consoleRoutes is the console API: agents, session cookie + CSRF token.
// Every route here needs bad-input cases (badinput_test.go reads this table).
func (s *Server) consoleRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /console", s.consolePage)
	c := "/api/console/v1"
	m.HandleFunc("POST "+c+"/login", s.login)
	m.Handle("POST "+c+"/logout", s.agent(user.Agent, s.logout))
	m.Handle("GET "+c+"/me", s.agent(user.Agent, s.consoleMe))
	m.Handle("PUT "+c+"/me/status", s.agent(user.Agent, s.setStatus))
	m.Handle("GET "+c+"/conversations", s.agent(user.Agent, s.inbox))
	m.Handle("GET "+c+"/conversations/{id}", s.agent(user.Agent, s.conversation))
	m.Handle("GET "+c+"/conversations/{id}/messages", s.agent(user.Agent, s.agentMessages))
	m.Handle("POST "+c+"/conversations/{id}/assign", s.agent(user.Agent, s.assign))
	m.Handle("POST "+c+"/conversations/{id}/release", s.agent(user.Agent, s.release))
	m.Handle("POST "+c+"/conversations/{id}/close", s.agent(user.Agent, s.agentClose))
	m.Handle("POST "+c+"/conversations/{id}/files", s.agent(user.Agent, s.agentUpload))
	m.Handle("GET "+c+"/visitors/{id}", s.agent(user.Agent, s.getVisitor))
	m.Handle("GET "+c+"/visitors/{id}/conversations", s.agent(user.Agent, s.visitorHistory))
	m.Handle("GET "+c+"/sites", s.agent(user.Agent, s.listSites))
	m.Handle("POST "+c+"/sites", s.agent(user.Admin, s.createSite))
	m.Handle("PATCH "+c+"/sites/{id}", s.agent(user.Admin, s.updateSite))
	m.Handle("GET "+c+"/users", s.agent(user.Agent, s.listUsers))
	m.Handle("POST "+c+"/users", s.agent(user.Admin, s.createUser))
	m.Handle("PATCH "+c+"/users/{id}", s.agent(user.Admin, s.updateUser))
	m.Handle("GET "+c+"/departments", s.agent(user.Agent, s.listDepartments))
	m.Handle("POST "+c+"/departments", s.agent(user.Admin, s.createDepartment))
	m.Handle("GET "+c+"/rt", s.agent(user.Agent, s.agentWS))
	m.Handle("POST "+c+"/rt/sse", s.agent(user.Agent, s.agentSSE))
	m.Handle("POST "+c+"/rt/frames", s.agent(user.Agent, s.agentFrames))
}
