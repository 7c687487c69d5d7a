package httpapi

import (
	"net/http"
	"strings"
	"time"

	"tiski/internal/apperr"
	"tiski/internal/canned"
	"tiski/internal/chat"
	"tiski/internal/mail"
	"tiski/internal/site"
	"tiski/internal/tag"
	"tiski/internal/user"
	"tiski/internal/validate"
	"tiski/internal/visitor"
)

// Handlers of teamRoutes (docs/console-api.md).

func (s *Server) meActivity(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	// The agent wrapper recorded the activity (every non-GET request does).
	w.WriteHeader(http.StatusNoContent)
}

// withTags fills each item's tags.
func (s *Server) withTags(r *http.Request, tenantID string, items []chat.InboxItem) error {
	ids := make([]string, len(items))
	for i := range items {
		ids[i] = items[i].ID
	}
	tags, err := s.Tags.OfConversations(r.Context(), tenantID, ids)
	if err != nil {
		return err
	}
	for i := range items {
		ts := tags[items[i].ID]
		if ts == nil {
			ts = []tag.Tag{}
		}
		items[i].Tags = ts
	}
	return nil
}

func (s *Server) writeItems(w http.ResponseWriter, r *http.Request, ar *agentReq, items []chat.InboxItem, err error, extra map[string]any) {
	if err == nil {
		err = s.withTags(r, ar.user.TenantID, items)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := map[string]any{"conversations": items}
	for k, v := range extra {
		out[k] = v
	}
	writeJSON(w, 200, out)
}

func (s *Server) inboxMine(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	items, err := s.Chat.Mine(r.Context(), ar.user.TenantID, ar.user.ID)
	s.writeItems(w, r, ar, items, err, nil)
}

func (s *Server) inboxQueue(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	items, err := s.Chat.Queue(r.Context(), ar.user.TenantID, ar.user.ID)
	s.writeItems(w, r, ar, items, err, nil)
}

func (s *Server) inboxOpen(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	items, err := s.Chat.AllOpen(r.Context(), ar.user.TenantID, ar.user.ID)
	s.writeItems(w, r, ar, items, err, nil)
}

// parseDay reads an RFC 3339 time or a YYYY-MM-DD date (UTC midnight).
func parseDay(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, nil
	}
	return time.Time{}, apperr.FieldError(field, "%s must be an RFC 3339 time or a date like 2026-11-23", field)
}

func (s *Server) history(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	q := r.URL.Query()
	f := chat.HistoryFilter{Text: q.Get("q"), Visitor: q.Get("visitor"), Email: q.Get("email"), TagID: q.Get("tag"),
		DepartmentID: q.Get("department"), AgentID: q.Get("agent"), Cursor: q.Get("cursor")}
	var err error
	if f.From, err = parseDay("from", q.Get("from")); err != nil {
		s.writeError(w, r, err)
		return
	}
	if f.To, err = parseDay("to", q.Get("to")); err != nil {
		s.writeError(w, r, err)
		return
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		s.writeError(w, r, apperr.FieldError("to", "to must be after from"))
		return
	}
	_, limit, err := pageParams(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if q.Get("limit") == "" {
		limit = 50
	}
	if limit > 200 {
		s.writeError(w, r, apperr.FieldError("limit", "limit must be between 1 and 200"))
		return
	}
	f.Limit = limit
	items, next, err := s.Chat.History(r.Context(), ar.user.TenantID, ar.user.ID, f)
	extra := map[string]any{}
	if next != "" {
		extra["next_cursor"] = next
	}
	s.writeItems(w, r, ar, items, err, extra)
}

// visitorPanel is what the console shows beside a chat about its shopper:
// the profile, the pages the widget reported (newest first), the device,
// the shopper's local time, what the shop tracked, and earlier chats.
// Fields not known are empty; new ones may be added.
type visitorPanel struct {
	Visitor     visitor.Visitor        `json:"visitor"`
	Site        panelSite              `json:"site"`
	CurrentPage *visitor.PageView      `json:"current_page"`
	Pages       []visitor.PageView     `json:"pages"`
	Referrer    string                 `json:"referrer"`
	Device      string                 `json:"device"`
	Browser     string                 `json:"browser"`
	OS          string                 `json:"os"`
	Timezone    string                 `json:"timezone"`
	LocalTime   string                 `json:"local_time"`
	Events      []visitor.TrackedEvent `json:"events"`
	Earlier     []chat.InboxItem       `json:"earlier"`
}

type panelSite struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Timezone string `json:"timezone"`
}

// chatContext reads a conversation the agent may see with its visitor and
// site: what the visitor panel and canned responses are made of.
func (s *Server) chatContext(r *http.Request, ar *agentReq) (chat.Conversation, visitor.Visitor, site.Site, error) {
	ctx := r.Context()
	c, err := s.Chat.Get(ctx, ar.actor, r.PathValue("id"))
	if err != nil {
		return c, visitor.Visitor{}, site.Site{}, err
	}
	v, err := s.Visitors.Get(ctx, c.TenantID, c.VisitorID)
	if err != nil {
		return c, v, site.Site{}, err
	}
	st, err := s.Sites.Get(ctx, c.TenantID, c.SiteID)
	return c, v, st, err
}

func (s *Server) visitorPanel(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	ctx := r.Context()
	c, v, st, err := s.chatContext(r, ar)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p := visitorPanel{Visitor: v, Site: panelSite{ID: st.ID, Name: st.Name, Timezone: st.Timezone}, Device: v.Device,
		Browser: v.Browser, OS: v.OS, Timezone: v.Timezone, Events: v.Events}
	if p.Pages, err = s.Visitors.Pages(ctx, c.TenantID, v.ID, 20); err != nil {
		s.writeError(w, r, err)
		return
	}
	p.Visitor.Pages = nil // once, in pages
	if len(p.Pages) > 0 {
		p.CurrentPage = &p.Pages[0]
		// The landing page's referrer says where the shopper came from.
		p.Referrer = p.Pages[len(p.Pages)-1].Referrer
	}
	if p.Events == nil {
		p.Events = []visitor.TrackedEvent{}
	}
	// Local time: the shopper's time zone, else their clock's offset, else
	// the site's zone.
	now := s.Clock.Now()
	if loc, err := time.LoadLocation(v.Timezone); v.Timezone != "" && err == nil {
		p.LocalTime = now.In(loc).Format(time.RFC3339)
	} else if v.Device != "" {
		p.LocalTime = now.In(time.FixedZone("", v.UTCOffset*60)).Format(time.RFC3339)
	} else if loc, err := time.LoadLocation(st.Timezone); err == nil {
		p.Timezone, p.LocalTime = st.Timezone, now.In(loc).Format(time.RFC3339)
	}
	if p.Earlier, err = s.Chat.Earlier(ctx, c.TenantID, v.ID, c.ID, ar.user.ID); err == nil {
		err = s.withTags(r, c.TenantID, p.Earlier)
	}
	s.respond(w, r, err, 200, p)
}

type transferReq struct {
	AgentID      string `json:"agent_id"`
	DepartmentID string `json:"department_id"`
	Note         string `json:"note"`
}

func (s *Server) transfer(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	var req transferReq
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	var c chat.Conversation
	var err error
	switch {
	case (req.AgentID == "") == (req.DepartmentID == ""):
		err = apperr.FieldError("agent_id", "give exactly one of agent_id and department_id")
	case req.AgentID != "":
		c, err = s.transferToAgent(r, ar, req)
	default:
		c, err = s.Chat.TransferToDepartment(r.Context(), ar.actor, r.PathValue("id"), req.DepartmentID, req.Note)
	}
	s.respond(w, r, err, 200, c)
}

// transferToAgent hands a conversation to a colleague. The handler (assignee,
// participant or supervisor) may transfer; Assign enforces the target's cap
// under their row lock.
func (s *Server) transferToAgent(r *http.Request, ar *agentReq, req transferReq) (chat.Conversation, error) {
	ctx := r.Context()
	c, err := s.Chat.Get(ctx, ar.actor, r.PathValue("id"))
	if err != nil {
		return c, err
	}
	if c.Status == chat.Assigned {
		ok, err := s.Chat.MayHandle(ctx, ar.actor, c)
		if err != nil {
			return c, err
		}
		if !ok {
			return c, apperr.New(apperr.Forbidden, "only its agent or a supervisor can transfer this conversation")
		}
	}
	if req.AgentID == ar.user.ID {
		return c, apperr.FieldError("agent_id", "that is you; take the conversation instead")
	}
	a := ar.actor
	if c.AssigneeID != a.ID {
		// A participant transfers on the assignee's behalf; Assign allows
		// that only to supervisors, so the check above stands in for it.
		a.Supervisor = true
	}
	return s.Chat.Assign(ctx, a, c.ID, req.AgentID, req.Note)
}

type noteReq struct {
	ID      string `json:"id"`
	Body    string `json:"body"`
	Whisper bool   `json:"whisper"`
}

func (s *Server) addNote(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	var req noteReq
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.Chat.Send(r.Context(), ar.actor, chat.SendInput{ConversationID: r.PathValue("id"), ClientMsgID: req.ID,
		Kind: chat.Note, Body: req.Body, Whisper: req.Whisper})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	m := &res.Message
	writeJSON(w, 200, map[string]any{"id": req.ID, "conv": m.ConversationID, "seq": m.Seq, "dup": res.Duplicate, "m": m.AgentView(s.Files)})
}

// mayTag: tags go on waiting conversations by anyone, on assigned or
// closed ones by their handler or a supervisor.
func (s *Server) mayTag(r *http.Request, ar *agentReq) (chat.Conversation, error) {
	c, err := s.Chat.Get(r.Context(), ar.actor, r.PathValue("id"))
	if err != nil {
		return c, err
	}
	if c.Status == chat.Open || c.Status == chat.Queued {
		return c, nil
	}
	ok, err := s.Chat.MayHandle(r.Context(), ar.actor, c)
	if err == nil && !ok {
		err = apperr.New(apperr.Forbidden, "only its agent or a supervisor can tag this conversation")
	}
	return c, err
}

func (s *Server) setTag(w http.ResponseWriter, r *http.Request, ar *agentReq, on bool) {
	c, err := s.mayTag(r, ar)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	tags, err := s.Tags.Set(r.Context(), c.TenantID, c.ID, r.PathValue("tag"), on)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.Hub.AnnounceTags(c.TenantID, c.ID, tags)
	writeJSON(w, 200, map[string]any{"tags": tags})
}

func (s *Server) tagConversation(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	s.setTag(w, r, ar, true)
}

func (s *Server) untagConversation(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	s.setTag(w, r, ar, false)
}

type transcriptReq struct {
	Email string `json:"email"`
}

func (s *Server) emailTranscript(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	var req transcriptReq
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	ctx := r.Context()
	c, err := s.Chat.Get(ctx, ar.actor, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if ok, err := s.Chat.MayHandle(ctx, ar.actor, c); err != nil || !ok {
		if err == nil {
			err = apperr.New(apperr.Forbidden, "only its agent or a supervisor can send this transcript")
		}
		s.writeError(w, r, err)
		return
	}
	v, err := s.Visitors.Get(ctx, c.TenantID, c.VisitorID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	to, err := validate.Email("email", req.Email, false)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if to == "" {
		to = v.Email
	}
	if to == "" {
		s.writeError(w, r, apperr.FieldError("email", "the visitor gave no email; give one"))
		return
	}
	st, err := s.Sites.Get(ctx, c.TenantID, c.SiteID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ms, err := s.Chat.VisitorStream(ctx, c.TenantID, c.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	m := mail.Message{To: to, Subject: "Your chat with " + st.Name, Text: transcriptText(st.Name, st.Timezone, c, ms)}
	if err := s.Chat.QueueMail(ctx, ar.actor, c, "transcript", m); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"queued": true, "to": to})
}

// transcriptText renders what the visitor saw, as plain text. It is given
// only the visitor's stream, so notes cannot be in it; the check below
// keeps it so if a caller ever passes more.
func transcriptText(siteName, tz string, c chat.Conversation, ms []chat.Message) string {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		loc = time.UTC
	}
	var b strings.Builder
	b.WriteString("Chat with " + siteName + ", " + c.CreatedAt.In(loc).Format("2006-01-02 15:04") + "\n\n")
	for i := range ms {
		m := &ms[i]
		if !m.VisibleToVisitor() || m.Kind == chat.Note {
			continue
		}
		at := m.CreatedAt.In(loc).Format("15:04")
		switch m.Kind {
		case chat.Text:
			who := m.SenderName
			if m.SenderKind == chat.VisitorActor {
				who = "You"
			}
			b.WriteString("[" + at + "] " + who + ": " + m.Body + "\n")
		case chat.File:
			name := ""
			if m.Attachment != nil {
				name = m.Attachment.Name
			}
			b.WriteString("[" + at + "] " + m.SenderName + " sent a file: " + name)
			if m.Body != "" {
				b.WriteString(" — " + m.Body)
			}
			b.WriteString("\n")
		case chat.Event:
			b.WriteString("[" + at + "] — " + m.Event + "\n")
		}
	}
	return b.String()
}

type joinReq struct {
	Mode string `json:"mode"`
}

func (s *Server) joinConversation(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	var req joinReq
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	var c chat.Conversation
	var err error
	switch req.Mode {
	case "join":
		c, err = s.Chat.Join(r.Context(), ar.actor, r.PathValue("id"))
	case "takeover":
		c, err = s.Chat.Assign(r.Context(), ar.actor, r.PathValue("id"), ar.user.ID, "")
	default:
		err = apperr.FieldError("mode", "mode must be join or takeover")
	}
	s.respond(w, r, err, 200, c)
}

func (s *Server) cannedFor(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	ctx := r.Context()
	c, v, st, err := s.chatContext(r, ar)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	deps := ar.user.Departments
	if c.DepartmentID != "" {
		deps = append(deps, c.DepartmentID)
	}
	rs, err := s.Canned.ForAgent(ctx, c.TenantID, deps)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	vals := canned.Values{"visitor.name": v.Name, "visitor.email": v.Email, "agent.name": ar.user.Name, "site.name": st.Name}
	for i := range rs {
		rs[i].Text = canned.Expand(rs[i].Body, vals)
	}
	writeJSON(w, 200, map[string]any{"canned": rs})
}

func (s *Server) listCanned(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	rs, err := s.Canned.List(r.Context(), ar.user.TenantID, r.URL.Query().Get("department"))
	s.respond(w, r, err, 200, map[string]any{"canned": rs})
}

func (s *Server) createCanned(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	var in canned.Input
	if err := decodeJSON(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.Canned.Create(r.Context(), ar.user.TenantID, in)
	s.respond(w, r, err, http.StatusCreated, c)
}

func (s *Server) updateCanned(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	var in canned.Input
	if err := decodeJSON(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.Canned.Update(r.Context(), ar.user.TenantID, r.PathValue("id"), in)
	s.respond(w, r, err, 200, c)
}

func (s *Server) deleteCanned(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	if err := s.Canned.Delete(r.Context(), ar.user.TenantID, r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listTags(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	ts, err := s.Tags.List(r.Context(), ar.user.TenantID)
	s.respond(w, r, err, 200, map[string]any{"tags": ts})
}

type tagReq struct {
	Name  *string `json:"name"`
	Color *string `json:"color"`
}

func (s *Server) createTag(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	var req tagReq
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	var name, color string
	if req.Name != nil {
		name = *req.Name
	}
	if req.Color != nil {
		color = *req.Color
	}
	t, err := s.Tags.Create(r.Context(), ar.user.TenantID, name, color)
	s.respond(w, r, err, http.StatusCreated, t)
}

func (s *Server) updateTag(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	var req tagReq
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := s.Tags.Update(r.Context(), ar.user.TenantID, r.PathValue("id"), req.Name, req.Color)
	s.respond(w, r, err, 200, t)
}

func (s *Server) deleteTag(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	if err := s.Tags.Delete(r.Context(), ar.user.TenantID, r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) board(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	ctx := r.Context()
	agents, err := s.Presence.Board(ctx, ar.user.TenantID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	queue, err := s.Chat.Queue(ctx, ar.user.TenantID, ar.user.ID)
	if err == nil {
		err = s.withTags(r, ar.user.TenantID, queue)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	open, err := s.Chat.Loads(ctx, ar.user.TenantID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	assigned := 0
	for _, n := range open {
		assigned += n
	}
	writeJSON(w, 200, map[string]any{"agents": agents, "queue": queue, "assigned": assigned, "at": s.Clock.Now()})
}

type inviteReq struct {
	Email       string    `json:"email"`
	Name        string    `json:"name"`
	Role        user.Role `json:"role"`
	MaxChats    int       `json:"max_chats"`
	Departments []string  `json:"departments"`
}

func (s *Server) inviteUser(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	var req inviteReq
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Role == "" {
		req.Role = user.Agent
	}
	if _, err := user.ParseRole(string(req.Role)); err != nil {
		s.writeError(w, r, err)
		return
	}
	if !mayGrant(ar.user.Role, req.Role) {
		s.writeError(w, r, apperr.New(apperr.Forbidden, "you cannot give a role above your own"))
		return
	}
	t, err := s.Tenants.Get(r.Context(), ar.user.TenantID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u, expires, err := s.Users.Invite(r.Context(), ar.user.TenantID, user.Invite{Email: req.Email, Name: req.Name, Role: req.Role,
		MaxChats: req.MaxChats, Departments: req.Departments, LinkBase: s.ownOrigin(r) + "/console#/invite/",
		TenantName: t.Name, InvitedBy: ar.user.Name})
	s.respond(w, r, err, http.StatusCreated, map[string]any{"user": u, "expires_at": expires})
}

func (s *Server) getInvite(w http.ResponseWriter, r *http.Request) {
	u, err := s.Users.InvitedUser(r.Context(), r.PathValue("token"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := s.Tenants.Get(r.Context(), u.TenantID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, 200, map[string]any{"email": u.Email, "name": u.Name, "tenant": t.Name})
}

type acceptReq struct {
	Password string `json:"password"`
}

// acceptInvite sets the password and signs the new colleague in.
func (s *Server) acceptInvite(w http.ResponseWriter, r *http.Request) {
	if err := crossOrigin.Check(r); err != nil {
		s.writeError(w, r, apperr.New(apperr.Forbidden, "cross-origin request refused"))
		return
	}
	if !s.loginRL.Allow(clientIP(r)) {
		s.writeError(w, r, &apperr.Error{Code: apperr.RateLimited, Message: "too many attempts; wait a moment", RetryAfter: 5})
		return
	}
	var req acceptReq
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx := r.Context()
	u, err := s.Users.AcceptInvite(ctx, r.PathValue("token"), req.Password)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.startSession(w, r, u)
}

func (s *Server) updateDepartment(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	var req departmentReq
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := s.Tenants.RenameDepartment(r.Context(), ar.user.TenantID, r.PathValue("id"), req.Name)
	s.respond(w, r, err, 200, d)
}

func (s *Server) deleteDepartment(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	if err := s.Tenants.DeleteDepartment(r.Context(), ar.user.TenantID, r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
