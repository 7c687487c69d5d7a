package httpapi

import (
	"context"
	"crypto/subtle"
	"html"
	"net/http"
	"strings"
	"time"

	"tiski/internal/apperr"
	"tiski/internal/auth"
	"tiski/internal/chat"
	"tiski/internal/realtime"
	"tiski/internal/site"
	"tiski/internal/tag"
	"tiski/internal/tenant"
	"tiski/internal/user"
	"tiski/internal/visitor"
)

// agentReq is a console request with a live session.
type agentReq struct {
	user    user.User
	session auth.Session
	actor   chat.Actor
}

// crossOrigin refuses state-changing requests that a browser marks as
// coming from another site (Sec-Fetch-Site, else Origin vs Host).
var crossOrigin = http.NewCrossOriginProtection()

func (s *Server) secure(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(s.PublicURL, "https://")
}

// cookieName uses the __Host- prefix when the cookie can be Secure, which
// pins it to this host and path /.
func (s *Server) cookieName(r *http.Request) string {
	if s.secure(r) {
		return "__Host-tiski_session"
	}
	return "tiski_session"
}

// agent wraps a console endpoint: it needs a live session of an enabled
// user with at least role min, and on state-changing methods a same-origin
// request carrying the session's CSRF token.
func (s *Server) agent(min user.Role, h func(http.ResponseWriter, *http.Request, *agentReq)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ar, err := s.authAgent(r, min)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		// Realtime frames count when they are sends, typing or reads (the hub
		// reports those); a stream or frames POST itself is not activity.
		if r.Method == http.MethodGet || r.Method == http.MethodHead || s.Presence == nil || strings.Contains(r.URL.Path, "/rt/") {
			h(w, r, ar)
			return
		}
		// Doing something counts as being active; a refused request
		// does not (and writes nothing).
		rec := &statusRecorder{ResponseWriter: w, status: 200}
		h(rec, r, ar)
		if rec.status < 400 {
			s.Presence.Touch(context.WithoutCancel(r.Context()), ar.user.TenantID, ar.user.ID)
		}
	})
}

func (s *Server) authAgent(r *http.Request, min user.Role) (*agentReq, error) {
	ck, err := r.Cookie(s.cookieName(r))
	if err != nil {
		return nil, apperr.New(apperr.Unauthorized, "sign in first")
	}
	sess, err := s.Sessions.Lookup(r.Context(), ck.Value)
	if err != nil {
		return nil, err
	}
	u, err := s.Users.Get(r.Context(), sess.TenantID, sess.UserID)
	if err != nil {
		return nil, apperr.New(apperr.Unauthorized, "sign in first")
	}
	if !u.Role.AtLeast(min) {
		return nil, apperr.New(apperr.Forbidden, "your role may not do this")
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if err := crossOrigin.Check(r); err != nil {
			return nil, apperr.New(apperr.Forbidden, "cross-origin request refused")
		}
		got := r.Header.Get("X-CSRF-Token")
		if subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRFToken)) != 1 {
			return nil, apperr.New(apperr.Forbidden, "missing or wrong X-CSRF-Token header")
		}
	}
	return &agentReq{user: u, session: sess, actor: actorOf(u)}, nil
}

func actorOf(u user.User) chat.Actor {
	return chat.Actor{Kind: chat.AgentActor, ID: u.ID, TenantID: u.TenantID, Name: u.Name, Supervisor: u.Role.AtLeast(user.Supervisor)}
}

type loginReq struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type meConsole struct {
	User      user.User     `json:"user"`
	Tenant    tenant.Tenant `json:"tenant"`
	CSRFToken string        `json:"csrf_token"`
	Load      loadView      `json:"load"`
	// OfflineOpen counts offline messages nobody has handled yet.
	OfflineOpen int `json:"offline_open"`
}

// loadView is an agent's open chats against their cap (2/3).
type loadView struct {
	Active int `json:"active"`
	Max    int `json:"max"`
}

// Failed sign-ins allowed per email and per address before a lockout.
const (
	maxFailuresPerEmail = 5
	maxFailuresPerIP    = 50
)

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if err := crossOrigin.Check(r); err != nil {
		s.writeError(w, r, apperr.New(apperr.Forbidden, "cross-origin request refused"))
		return
	}
	ip := clientIP(r)
	if !s.loginRL.Allow(ip) {
		s.writeError(w, r, &apperr.Error{Code: apperr.RateLimited, Message: "too many sign-in attempts; wait a moment", RetryAfter: 5})
		return
	}
	var req loginReq
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx := r.Context()
	emailKey, ipKey := "email:"+strings.ToLower(strings.TrimSpace(req.Email)), "ip:"+ip
	for _, k := range []string{emailKey, ipKey} {
		if err := s.Throttle.Check(ctx, k); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	u, err := s.Users.Authenticate(ctx, req.Email, req.Password)
	if err != nil {
		if apperr.Is(err, apperr.Unauthorized) {
			_ = s.Throttle.Fail(ctx, emailKey, maxFailuresPerEmail)
			_ = s.Throttle.Fail(ctx, ipKey, maxFailuresPerIP)
		}
		s.writeError(w, r, err)
		return
	}
	_ = s.Throttle.Reset(ctx, emailKey)
	s.startSession(w, r, u)
}

// startSession signs u in: a new session, its cookie, and the console's
// start-up data.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u user.User) {
	ctx := r.Context()
	token, sess, err := s.Sessions.Create(ctx, u.TenantID, u.ID, clientIP(r), r.UserAgent())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(r), Value: token, Path: "/", HttpOnly: true, Secure: s.secure(r),
		SameSite: http.SameSiteLaxMode, MaxAge: int(s.Sessions.MaxAge / time.Second)})
	me, err := s.me(r, u, sess.CSRFToken)
	s.respond(w, r, err, 200, me)
}

// me is the console's start-up data: who, which tenant, the CSRF token and
// the caller's load against their cap.
func (s *Server) me(r *http.Request, u user.User, csrf string) (meConsole, error) {
	t, err := s.Tenants.Get(r.Context(), u.TenantID)
	if err != nil {
		return meConsole{}, err
	}
	load, err := s.Chat.Load(r.Context(), u.TenantID, u.ID)
	if err != nil {
		return meConsole{}, err
	}
	open, err := s.Visitors.CountOpenOffline(r.Context(), u.TenantID)
	if err != nil {
		return meConsole{}, err
	}
	return meConsole{User: u, Tenant: t, CSRFToken: csrf, Load: loadView{Active: load, Max: u.MaxChats}, OfflineOpen: open}, nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	ck, _ := r.Cookie(s.cookieName(r))
	if err := s.Sessions.Revoke(r.Context(), ck.Value); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.Hub.Revoke(ar.user.TenantID, ar.user.ID, ar.session.Key())
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(r), Value: "", Path: "/", HttpOnly: true, Secure: s.secure(r),
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) consoleMe(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	me, err := s.me(r, ar.user, ar.session.CSRFToken)
	s.respond(w, r, err, 200, me)
}

type statusReq struct {
	Status user.Status `json:"status"`
}

func (s *Server) setStatus(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	var req statusReq
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := s.Presence.SetStatus(r.Context(), ar.user.TenantID, ar.user.ID, req.Status); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.Users.Get(r.Context(), ar.user.TenantID, ar.user.ID)
	s.respond(w, r, err, 200, u)
}

func (s *Server) inbox(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	q := r.URL.Query()
	f := chat.InboxFilter{}
	if v := q.Get("status"); v != "" {
		for _, st := range strings.Split(v, ",") {
			switch chat.Status(st) {
			case chat.Open, chat.Queued, chat.Assigned, chat.Closed:
				f.Statuses = append(f.Statuses, chat.Status(st))
			default:
				s.writeError(w, r, apperr.FieldError("status", "status must be open, queued, assigned or closed"))
				return
			}
		}
	}
	if q.Get("mine") == "1" {
		f.AssigneeID = ar.user.ID
	}
	if v := q.Get("before"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			s.writeError(w, r, apperr.FieldError("before", "before must be an RFC 3339 time"))
			return
		}
		f.Before, f.BeforeID = t.UTC(), q.Get("before_id")
	}
	_, limit, err := pageParams(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f.Limit = limit
	cs, err := s.Chat.Inbox(r.Context(), ar.user.TenantID, f)
	s.respond(w, r, err, 200, map[string]any{"conversations": cs})
}

type conversationResp struct {
	Conversation chat.Conversation  `json:"conversation"`
	Visitor      visitor.Visitor    `json:"visitor"`
	Rating       *chat.Rating       `json:"rating"`
	ReadMarks    []chat.ReadMark    `json:"read_marks"`
	Tags         []tag.Tag          `json:"tags"`
	Participants []chat.Participant `json:"participants"`
}

func (s *Server) conversation(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	ctx := r.Context()
	c, err := s.Chat.Get(ctx, ar.actor, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp := conversationResp{Conversation: c}
	if resp.Visitor, err = s.Visitors.Get(ctx, c.TenantID, c.VisitorID); err != nil {
		s.writeError(w, r, err)
		return
	}
	if rt, ok, err := s.Chat.Rating(ctx, c.TenantID, c.ID); err != nil {
		s.writeError(w, r, err)
		return
	} else if ok {
		resp.Rating = &rt
	}
	if resp.ReadMarks, err = s.Chat.ReadMarks(ctx, c.TenantID, c.ID); err != nil {
		s.writeError(w, r, err)
		return
	}
	if resp.Tags, err = s.Tags.OfConversation(ctx, c.TenantID, c.ID); err != nil {
		s.writeError(w, r, err)
		return
	}
	if resp.Participants, err = s.Chat.Participants(ctx, c.TenantID, c.ID); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, 200, resp)
}

func (s *Server) agentMessages(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	after, limit, err := pageParams(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ms, c, err := s.Chat.Messages(r.Context(), ar.actor, r.PathValue("id"), after, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	views := make([]chat.MessageView, len(ms))
	for i := range ms {
		views[i] = ms[i].AgentView(s.Files)
	}
	writeJSON(w, 200, map[string]any{"conversation": c, "messages": views})
}

type assignReq struct {
	AgentID string `json:"agent_id"`
	Note    string `json:"note"`
}

func (s *Server) assign(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	var req assignReq
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	c, err := s.Chat.Assign(r.Context(), ar.actor, r.PathValue("id"), req.AgentID, req.Note)
	s.respond(w, r, err, 200, c)
}

func (s *Server) release(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	c, err := s.Chat.Release(r.Context(), ar.actor, r.PathValue("id"))
	s.respond(w, r, err, 200, c)
}

func (s *Server) agentClose(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	c, err := s.Chat.Close(r.Context(), ar.actor, r.PathValue("id"))
	s.respond(w, r, err, 200, c)
}

func (s *Server) agentUpload(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	s.upload(w, r, ar.actor, r.PathValue("id"))
}

func (s *Server) getVisitor(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	v, err := s.Visitors.Get(r.Context(), ar.user.TenantID, r.PathValue("id"))
	s.respond(w, r, err, 200, v)
}

func (s *Server) visitorHistory(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	v, err := s.Visitors.Get(r.Context(), ar.user.TenantID, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	cs, err := s.Chat.VisitorConversations(r.Context(), v.TenantID, v.ID, 100)
	s.respond(w, r, err, 200, map[string]any{"conversations": cs})
}

func (s *Server) listSites(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	sites, err := s.Sites.List(r.Context(), ar.user.TenantID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	views := make([]siteView, len(sites))
	for i := range sites {
		views[i] = s.siteView(r, sites[i])
	}
	writeJSON(w, 200, map[string]any{"sites": views})
}

// siteView is a site with the snippet its shop pastes into its pages.
type siteView struct {
	site.Site
	EmbedSnippet string `json:"embed_snippet"`
}

func (s *Server) siteView(r *http.Request, st site.Site) siteView {
	return siteView{Site: st, EmbedSnippet: `<script src="` + html.EscapeString(s.ownOrigin(r)) + `/widget.js" data-site="` +
		html.EscapeString(st.WidgetKey) + `" async></script>`}
}

type siteReq struct {
	Name     string   `json:"name"`
	Language string   `json:"language"`
	Timezone string   `json:"timezone"`
	Origins  []string `json:"allowed_origins"`
}

func (s *Server) createSite(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	var req siteReq
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	st, err := s.Sites.Create(r.Context(), ar.user.TenantID, site.New{Name: req.Name, Language: req.Language, Timezone: req.Timezone, Origins: req.Origins})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, s.siteView(r, st))
}

func (s *Server) updateSite(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	var req site.Update
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	st, err := s.Sites.Update(r.Context(), ar.user.TenantID, r.PathValue("id"), req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, 200, s.siteView(r, st))
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	us, err := s.Users.List(r.Context(), ar.user.TenantID)
	s.respond(w, r, err, 200, map[string]any{"users": us})
}

type userReq struct {
	Email    string    `json:"email"`
	Name     string    `json:"name"`
	Role     user.Role `json:"role"`
	Password string    `json:"password"`
	MaxChats int       `json:"max_chats"`
}

// mayGrant reports whether a user of role actor may give role r: nobody
// grants a role above their own.
func mayGrant(actor, r user.Role) bool { return actor.AtLeast(r) }

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	var req userReq
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Role == "" {
		req.Role = user.Agent
	}
	if !mayGrant(ar.user.Role, req.Role) {
		s.writeError(w, r, apperr.New(apperr.Forbidden, "you cannot give a role above your own"))
		return
	}
	u, err := s.Users.Create(r.Context(), ar.user.TenantID, user.New{Email: req.Email, Name: req.Name, Role: req.Role,
		Password: req.Password, MaxChats: req.MaxChats})
	s.respond(w, r, err, http.StatusCreated, u)
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	var req user.Update
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx := r.Context()
	target, err := s.Users.Get(ctx, ar.user.TenantID, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !mayGrant(ar.user.Role, target.Role) || req.Role != nil && !mayGrant(ar.user.Role, *req.Role) {
		s.writeError(w, r, apperr.New(apperr.Forbidden, "you cannot change a user above your own role"))
		return
	}
	u, err := s.Users.Update(ctx, ar.user.TenantID, target.ID, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if u.Disabled {
		// A disabled account loses its sessions and its open connections.
		if err := s.Sessions.RevokeUser(ctx, u.TenantID, u.ID); err != nil {
			s.writeError(w, r, err)
			return
		}
		s.Hub.Revoke(u.TenantID, u.ID, "")
	}
	writeJSON(w, 200, u)
}

func (s *Server) listDepartments(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	ds, err := s.Tenants.Departments(r.Context(), ar.user.TenantID)
	s.respond(w, r, err, 200, map[string]any{"departments": ds})
}

type departmentReq struct {
	Name string `json:"name"`
}

func (s *Server) createDepartment(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	var req departmentReq
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := s.Tenants.CreateDepartment(r.Context(), ar.user.TenantID, req.Name)
	s.respond(w, r, err, http.StatusCreated, d)
}

func (s *Server) agentPrincipal(ar *agentReq) realtime.Authenticator {
	return func(context.Context, *realtime.ClientFrame) (realtime.Principal, error) {
		return realtime.Principal{Actor: ar.actor, Session: ar.session.Key()}, nil
	}
}

// sameOrigin protects the agent socket from cross-site WebSocket hijacking:
// a browser on another origin carries the cookie but not our Origin.
func (s *Server) sameOrigin(r *http.Request) error {
	o := r.Header.Get("Origin")
	if o == "" || strings.EqualFold(o, s.ownOrigin(r)) {
		return nil
	}
	return apperr.New(apperr.Forbidden, "the console socket accepts only its own origin")
}

func (s *Server) agentWS(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	if err := s.sameOrigin(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.Hub.ServeWS(w, r, s.agentPrincipal(ar))
}

func (s *Server) agentSSE(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	hello, err := s.readHello(w, r)
	if err == nil {
		err = s.Hub.ServeSSE(w, r, hello, s.agentPrincipal(ar))
	}
	if err != nil {
		s.writeError(w, r, err)
	}
}

func (s *Server) agentFrames(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	s.frames(w, r, realtime.Principal{Actor: ar.actor, Session: ar.session.Key()})
}
