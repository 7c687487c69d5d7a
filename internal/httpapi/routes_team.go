package httpapi

import (
	"net/http"

	"tiski/internal/user"
)

// teamRoutes is the rest of the console API (docs/console-api.md):
// availability, inboxes and history, chat tools, canned responses, tags,
// the supervisor board and team administration. Session cookie + CSRF
// token like consoleRoutes; every route here needs bad-input cases.
func (s *Server) teamRoutes(m *http.ServeMux) {
	c := "/api/console/v1"
	m.Handle("POST "+c+"/me/activity", s.agent(user.Agent, s.meActivity))
	m.Handle("GET "+c+"/inbox/mine", s.agent(user.Agent, s.inboxMine))
	m.Handle("GET "+c+"/inbox/queue", s.agent(user.Agent, s.inboxQueue))
	m.Handle("GET "+c+"/inbox/open", s.agent(user.Supervisor, s.inboxOpen))
	m.Handle("GET "+c+"/history", s.agent(user.Agent, s.history))
	m.Handle("GET "+c+"/conversations/{id}/panel", s.agent(user.Agent, s.visitorPanel))
	m.Handle("POST "+c+"/conversations/{id}/transfer", s.agent(user.Agent, s.transfer))
	m.Handle("POST "+c+"/conversations/{id}/notes", s.agent(user.Agent, s.addNote))
	m.Handle("PUT "+c+"/conversations/{id}/tags/{tag}", s.agent(user.Agent, s.tagConversation))
	m.Handle("DELETE "+c+"/conversations/{id}/tags/{tag}", s.agent(user.Agent, s.untagConversation))
	m.Handle("POST "+c+"/conversations/{id}/transcript", s.agent(user.Agent, s.emailTranscript))
	m.Handle("POST "+c+"/conversations/{id}/join", s.agent(user.Supervisor, s.joinConversation))
	m.Handle("GET "+c+"/conversations/{id}/canned", s.agent(user.Agent, s.cannedFor))
	m.Handle("GET "+c+"/canned", s.agent(user.Agent, s.listCanned))
	m.Handle("POST "+c+"/canned", s.agent(user.Admin, s.createCanned))
	m.Handle("PATCH "+c+"/canned/{id}", s.agent(user.Admin, s.updateCanned))
	m.Handle("DELETE "+c+"/canned/{id}", s.agent(user.Admin, s.deleteCanned))
	m.Handle("GET "+c+"/tags", s.agent(user.Agent, s.listTags))
	m.Handle("POST "+c+"/tags", s.agent(user.Agent, s.createTag))
	m.Handle("PATCH "+c+"/tags/{id}", s.agent(user.Admin, s.updateTag))
	m.Handle("DELETE "+c+"/tags/{id}", s.agent(user.Admin, s.deleteTag))
	m.Handle("GET "+c+"/board", s.agent(user.Supervisor, s.board))
	m.Handle("POST "+c+"/users/invite", s.agent(user.Admin, s.inviteUser))
	m.HandleFunc("GET "+c+"/invites/{token}", s.getInvite)
	m.HandleFunc("POST "+c+"/invites/{token}/accept", s.acceptInvite)
	m.Handle("PATCH "+c+"/departments/{id}", s.agent(user.Admin, s.updateDepartment))
	m.Handle("DELETE "+c+"/departments/{id}", s.agent(user.Admin, s.deleteDepartment))
}
