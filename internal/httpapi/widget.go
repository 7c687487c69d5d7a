package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"tiski/internal/apperr"
	"tiski/internal/chat"
	"tiski/internal/realtime"
	"tiski/internal/site"
	"tiski/internal/user"
	"tiski/internal/visitor"
)

// visitorReq is a widget request that passed the site and origin checks,
// and, where required, the visitor's token.
type visitorReq struct {
	site    site.Site
	visitor visitor.Visitor
	actor   chat.Actor
}

// ownOrigin is the origin Tiski itself is served from (the widget frame
// lives there).
func (s *Server) ownOrigin(r *http.Request) string {
	if s.PublicURL != "" {
		return s.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + strings.ToLower(r.Host)
}

// widget wraps a widget endpoint: it resolves the site from the key in the
// path, refuses origins the site does not allow, sets CORS headers and, if
// needVisitor, authenticates the bearer token.
func (s *Server) widget(needVisitor bool, h func(http.ResponseWriter, *http.Request, *visitorReq)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		vr, err := s.widgetSite(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		w.Header().Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
		w.Header().Set("Access-Control-Expose-Headers", "Retry-After")
		w.Header().Add("Vary", "Origin")
		if needVisitor {
			token, ok := bearer(r)
			if !ok {
				s.writeError(w, r, apperr.New(apperr.Unauthorized, "send the visitor token as Authorization: Bearer …"))
				return
			}
			if err := s.authVisitor(r.Context(), vr, token); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		h(w, r, vr)
	})
}

func (s *Server) widgetSite(r *http.Request) (*visitorReq, error) {
	st, err := s.Sites.ByWidgetKey(r.Context(), r.PathValue("key"))
	if err != nil {
		return nil, err
	}
	origin := r.Header.Get("Origin")
	// Browsers leave Origin out of same-origin GETs: the widget frame's own
	// calls are recognised by Sec-Fetch-Site, which pages cannot set.
	if origin == "" && r.Header.Get("Sec-Fetch-Site") == "same-origin" {
		origin = s.ownOrigin(r)
	}
	if !st.AllowsOrigin(origin, s.ownOrigin(r)) {
		return nil, apperr.New(apperr.Forbidden, "this page's origin is not allowed to use the site's chat; add it to the site's allowed origins")
	}
	return &visitorReq{site: st}, nil
}

func (s *Server) authVisitor(ctx context.Context, vr *visitorReq, token string) error {
	v, err := s.Visitors.Authenticate(ctx, vr.site.ID, token)
	if err != nil {
		return err
	}
	vr.visitor = v
	vr.actor = chat.Actor{Kind: chat.VisitorActor, ID: v.ID, TenantID: v.TenantID, SiteID: v.SiteID, Name: v.Name}
	return nil
}

// widgetPreflight answers CORS preflight requests for allowed origins.
func (s *Server) widgetPreflight() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.widgetSite(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
		h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
		h.Set("Access-Control-Max-Age", "600")
		h.Add("Vary", "Origin")
		w.WriteHeader(http.StatusNoContent)
	})
}

type publicSite struct {
	Name      string        `json:"name"`
	Language  string        `json:"language"`
	Languages []string      `json:"languages"`
	Settings  site.Settings `json:"settings"`
	// Available: someone can answer now; otherwise the widget offers the
	// offline form instead of a chat that talks into a void.
	Available bool `json:"available"`
	// Agents are the first names of agents online, for the greeting.
	Agents []string `json:"agents"`
	// Team is the same agents with their photos, for the header's avatar.
	Team []user.OnlineAgent `json:"team"`
	// Topics are the departments a pre-chat form offers.
	Topics []publicTopic `json:"topics"`
}

type publicTopic struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (s *Server) siteConfig(w http.ResponseWriter, r *http.Request, vr *visitorReq) {
	team, err := s.Users.OnlineAgents(r.Context(), vr.site.TenantID, 3)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	names := make([]string, len(team))
	for i := range team { // first names only: shoppers need no more
		team[i].Name, _, _ = strings.Cut(team[i].Name, " ")
		names[i] = team[i].Name
	}
	topics := []publicTopic{}
	if vr.site.Settings.Prechat.Enabled {
		ds, err := s.Tenants.Departments(r.Context(), vr.site.TenantID)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		for _, d := range ds {
			topics = append(topics, publicTopic{ID: d.ID, Name: d.Name})
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, 200, publicSite{Name: vr.site.Name, Language: vr.site.Language, Languages: site.Languages,
		Settings: vr.site.Settings, Available: len(names) > 0, Agents: names, Team: team, Topics: topics})
}

type newVisitorReq struct {
	Language string `json:"language"`
}

type newVisitorResp struct {
	Visitor visitor.Visitor `json:"visitor"`
	Token   string          `json:"token"`
}

func (s *Server) createVisitor(w http.ResponseWriter, r *http.Request, vr *visitorReq) {
	if !s.visitorRL.Allow(clientIP(r)) {
		s.writeError(w, r, &apperr.Error{Code: apperr.RateLimited, Message: "too many new visitors from this address", RetryAfter: 10})
		return
	}
	var req newVisitorReq
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	v, token, err := s.Visitors.Create(r.Context(), vr.site.TenantID, vr.site.ID, req.Language)
	s.respond(w, r, err, http.StatusCreated, newVisitorResp{Visitor: v, Token: token})
}

type meResp struct {
	Visitor      visitor.Visitor               `json:"visitor"`
	Conversation *chat.VisitorConversationView `json:"conversation"`
}

func (s *Server) getMe(w http.ResponseWriter, r *http.Request, vr *visitorReq) {
	resp := meResp{Visitor: vr.visitor}
	c, ok, err := s.Chat.ActiveConversation(r.Context(), vr.actor)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if ok {
		v := c.ForVisitor()
		resp.Conversation = &v
	}
	writeJSON(w, 200, resp)
}

func (s *Server) patchMe(w http.ResponseWriter, r *http.Request, vr *visitorReq) {
	var p visitor.Profile
	if err := decodeJSON(w, r, &p); err != nil {
		s.writeError(w, r, err)
		return
	}
	v, err := s.Visitors.UpdateProfile(r.Context(), vr.site.TenantID, vr.visitor.ID, p)
	s.respond(w, r, err, 200, v)
}

func (s *Server) visitorConversations(w http.ResponseWriter, r *http.Request, vr *visitorReq) {
	cs, err := s.Chat.VisitorConversations(r.Context(), vr.site.TenantID, vr.visitor.ID, 50)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]chat.VisitorConversationView, len(cs))
	for i := range cs {
		out[i] = cs[i].ForVisitor()
	}
	writeJSON(w, 200, map[string]any{"conversations": out})
}

type startReq struct {
	DepartmentID string `json:"department_id"`
}

func (s *Server) startConversation(w http.ResponseWriter, r *http.Request, vr *visitorReq) {
	var req startReq
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	c, err := s.Chat.Start(r.Context(), vr.actor, req.DepartmentID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, 200, c.ForVisitor())
}

// pageParams reads ?after=N&limit=M.
func pageParams(r *http.Request) (int64, int, error) {
	q := r.URL.Query()
	var after int64
	limit := 100
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return 0, 0, apperr.FieldError("after", "after must be a whole number >= 0")
		}
		after = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > chat.MaxPageSize {
			return 0, 0, apperr.FieldError("limit", "limit must be between 1 and %d", chat.MaxPageSize)
		}
		limit = n
	}
	return after, limit, nil
}

type visitorMessagesResp struct {
	Conversation chat.VisitorConversationView `json:"conversation"`
	Messages     []chat.MessageView           `json:"messages"`
}

func (s *Server) visitorMessages(w http.ResponseWriter, r *http.Request, vr *visitorReq) {
	after, limit, err := pageParams(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ms, c, err := s.Chat.Messages(r.Context(), vr.actor, r.PathValue("id"), after, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := visitorMessagesResp{Conversation: c.ForVisitor(), Messages: make([]chat.MessageView, len(ms))}
	for i := range ms {
		out.Messages[i] = ms[i].VisitorView(s.Files)
	}
	writeJSON(w, 200, out)
}

func (s *Server) visitorClose(w http.ResponseWriter, r *http.Request, vr *visitorReq) {
	c, err := s.Chat.Close(r.Context(), vr.actor, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, 200, c.ForVisitor())
}

type rateReq struct {
	Score   string `json:"score"`
	Comment string `json:"comment"`
}

func (s *Server) rate(w http.ResponseWriter, r *http.Request, vr *visitorReq) {
	var req rateReq
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	rt, err := s.Chat.Rate(r.Context(), vr.actor, r.PathValue("id"), req.Score, req.Comment)
	s.respond(w, r, err, 200, rt)
}

func (s *Server) visitorUpload(w http.ResponseWriter, r *http.Request, vr *visitorReq) {
	s.upload(w, r, vr.actor, r.URL.Query().Get("conv"))
}

// visitorPrincipal completes a visitor connection from its hello token.
func (s *Server) visitorPrincipal(vr *visitorReq) realtime.Authenticator {
	return func(ctx context.Context, hello *realtime.ClientFrame) (realtime.Principal, error) {
		if err := s.authVisitor(ctx, vr, hello.Token); err != nil {
			return realtime.Principal{}, err
		}
		return realtime.Principal{Actor: vr.actor, TypingPreview: vr.site.Settings.TypingPreview}, nil
	}
}

func (s *Server) visitorWS(w http.ResponseWriter, r *http.Request, vr *visitorReq) {
	s.Hub.ServeWS(w, r, s.visitorPrincipal(vr))
}

func (s *Server) visitorSSE(w http.ResponseWriter, r *http.Request, vr *visitorReq) {
	hello, err := s.readHello(w, r)
	if err == nil {
		err = s.Hub.ServeSSE(w, r, hello, s.visitorPrincipal(vr))
	}
	if err != nil {
		s.writeError(w, r, err)
	}
}

func (s *Server) visitorFrames(w http.ResponseWriter, r *http.Request, vr *visitorReq) {
	s.frames(w, r, realtime.Principal{Actor: vr.actor, TypingPreview: vr.site.Settings.TypingPreview})
}

// bearer returns the token of an "Authorization: Bearer …" header (the
// scheme is case-insensitive, RFC 9110).
func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
