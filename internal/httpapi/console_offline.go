package httpapi

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"time"

	"tiski/internal/apperr"
	"tiski/internal/mail"
	"tiski/internal/user"
	"tiski/internal/visitor"
)

// offlineRoutes is the console's offline inbox (docs/console-api.md): the
// messages shoppers leave when nobody is online, handled and answered by
// email. Any agent of the tenant may read and handle them.
func (s *Server) offlineRoutes(m *http.ServeMux) {
	c := "/api/console/v1"
	m.Handle("GET "+c+"/offline", s.agent(user.Agent, s.listOffline))
	m.Handle("PUT "+c+"/offline/{id}/handled", s.agent(user.Agent, s.handleOffline))
	m.Handle("POST "+c+"/offline/{id}/reply", s.agent(user.Agent, s.replyOffline))
}

func (s *Server) listOffline(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	q := r.URL.Query()
	f := visitor.OfflineFilter{State: q.Get("state"), SiteID: q.Get("site")}
	switch f.State {
	case "", "open", "handled":
	default:
		s.writeError(w, r, apperr.FieldError("state", "state must be open or handled"))
		return
	}
	if f.SiteID != "" {
		if _, err := s.Sites.Get(r.Context(), ar.user.TenantID, f.SiteID); err != nil {
			s.writeError(w, r, apperr.FieldError("site", "no such site"))
			return
		}
	}
	if v := q.Get("before"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			s.writeError(w, r, apperr.FieldError("before", "before must be an RFC 3339 time"))
			return
		}
		f.Before, f.BeforeID = t.UTC(), q.Get("before_id")
		if f.BeforeID == "" {
			s.writeError(w, r, apperr.FieldError("before_id", "before_id is required with before"))
			return
		}
	}
	_, limit, err := pageParams(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if q.Get("limit") == "" {
		limit = 50
	}
	f.Limit = limit
	items, err := s.Visitors.ListOffline(r.Context(), ar.user.TenantID, f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	open, err := s.Visitors.CountOpenOffline(r.Context(), ar.user.TenantID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := map[string]any{"messages": items, "open": open}
	if len(items) == limit {
		last := items[len(items)-1]
		out["next"] = map[string]string{"before": last.CreatedAt.Format(time.RFC3339Nano), "before_id": last.ID}
	}
	writeJSON(w, 200, out)
}

type offlineHandledReq struct {
	Handled *bool `json:"handled"`
}

// handleOffline serves PUT …/offline/{id}/handled {"handled": bool}.
func (s *Server) handleOffline(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	var req offlineHandledReq
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Handled == nil {
		s.writeError(w, r, apperr.FieldError("handled", "handled must be true or false"))
		return
	}
	var it visitor.OfflineItem
	err := s.DB.Write(r.Context(), func(ctx context.Context, tx *sql.Tx) error {
		id := r.PathValue("id")
		if err := visitor.SetOfflineHandled(ctx, tx, ar.user.TenantID, id, ar.user.ID, *req.Handled, s.Clock.Now()); err != nil {
			return err
		}
		var err error
		it, err = visitor.GetOffline(ctx, tx, ar.user.TenantID, id)
		return err
	})
	s.respond(w, r, err, 200, it)
}

type offlineReplyReq struct {
	Text string `json:"text"`
}

var offlineReplySubject = map[string]string{
	"fi": "Vastaus viestiisi: %s",
	"sv": "Svar på ditt meddelande: %s",
	"en": "Reply to your message: %s",
}

// replyOffline serves POST …/offline/{id}/reply: the reply is queued in
// the mail outbox, stored with the message and marks it handled, all in
// one transaction, so a reply is never recorded without its mail or sent
// without its record.
func (s *Server) replyOffline(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	var req offlineReplyReq
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	text, err := visitor.CheckReply(req.Text)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var it visitor.OfflineItem
	err = s.DB.Write(r.Context(), func(ctx context.Context, tx *sql.Tx) error {
		id := r.PathValue("id")
		m, err := visitor.GetOffline(ctx, tx, ar.user.TenantID, id)
		if err != nil {
			return err
		}
		subject, ok := offlineReplySubject[m.Language]
		if !ok {
			subject = offlineReplySubject["en"]
		}
		body := text + "\n\n— " + ar.user.Name + ", " + m.SiteName + "\n\n> " + quoteLines(m.Message) + "\n"
		now := s.Clock.Now()
		if err := visitor.RecordOfflineReply(ctx, tx, ar.user.TenantID, id, ar.user.ID, text, now); err != nil {
			return err
		}
		if err := mail.Enqueue(ctx, tx, ar.user.TenantID, "offline_reply", mail.Message{
			To: m.Email, ReplyTo: ar.user.Email, Subject: fmt.Sprintf(subject, m.SiteName), Text: body,
		}, now); err != nil {
			return err
		}
		it, err = visitor.GetOffline(ctx, tx, ar.user.TenantID, id)
		return err
	})
	s.respond(w, r, err, 200, it)
}

// quoteLines prefixes every line after the first with "> " (the caller
// writes the first prefix), as mail clients quote.
func quoteLines(s string) string {
	out := make([]rune, 0, len(s))
	for _, c := range s {
		out = append(out, c)
		if c == '\n' {
			out = append(out, '>', ' ')
		}
	}
	return string(out)
}
