package httpapi

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"tiski/internal/apperr"
	"tiski/internal/chat"
	"tiski/internal/id"
	"tiski/internal/mail"
	"tiski/internal/useragent"
	"tiski/internal/validate"
	"tiski/internal/visitor"
)

// Widget endpoints beyond chatting: the context agents see (pages, device,
// tracked events), shop-verified identity, the offline form and the
// transcript a shopper may ask for.

type pagesReq struct {
	Pages     []visitor.PageView `json:"pages"`
	Device    string             `json:"device"`
	Timezone  string             `json:"timezone"`
	UTCOffset int                `json:"utc_offset"`
	Language  string             `json:"language"`
}

// recordPages serves POST …/me/pages.
func (s *Server) recordPages(w http.ResponseWriter, r *http.Request, vr *visitorReq) {
	var req pagesReq
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if len(req.Pages) == 0 {
		s.writeError(w, r, apperr.FieldError("pages", "send at least one page"))
		return
	}
	browser, os := useragent.Parse(r.UserAgent())
	err := s.Visitors.RecordPages(r.Context(), vr.site.TenantID, vr.visitor.ID, req.Pages,
		visitor.Device{Kind: req.Device, Timezone: req.Timezone, UTCOffset: req.UTCOffset, Language: req.Language,
			Browser: browser, OS: os})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type trackReq struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// track serves POST …/me/events: Tiski('track', type, data).
func (s *Server) track(w http.ResponseWriter, r *http.Request, vr *visitorReq) {
	var req trackReq
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.Visitors.Track(r.Context(), vr.visitor, req.Type, req.Data); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// identify serves POST …/identify: Tiski('identify', {id, name, email,
// expires, signature}), checked against the site's identity secret.
func (s *Server) identify(w http.ResponseWriter, r *http.Request, vr *visitorReq) {
	var req visitor.Identity
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	v, err := s.Visitors.Identify(r.Context(), vr.visitor, vr.site.IdentitySecret, req)
	s.respond(w, r, err, 200, v)
}

type offlineReq struct {
	Name     string `json:"name"`
	Email    string `json:"email"`
	Message  string `json:"message"`
	Language string `json:"language"`
	Page     string `json:"page"`
}

var offlineText = map[string][2]string{
	"fi": {"Uusi viesti chatista: %s", "%s (%s) jätti viestin, kun kukaan ei ollut paikalla.\nVastaa suoraan tähän sähköpostiin.\n\nSivu: %s\n\n%s\n"},
	"sv": {"Nytt meddelande från chatten: %s", "%s (%s) lämnade ett meddelande när ingen var på plats.\nSvara direkt på detta e-postmeddelande.\n\nSida: %s\n\n%s\n"},
	"en": {"New message from the chat: %s", "%s (%s) left a message while nobody was online.\nReply to this email to answer.\n\nPage: %s\n\n%s\n"},
}

// offline serves POST …/offline: the form shown when nobody can answer.
// The message is stored and mailed to the team's owners and admins in one
// transaction, so nothing is promised that is not kept.
func (s *Server) offline(w http.ResponseWriter, r *http.Request, vr *visitorReq) {
	var req offlineReq
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	m := visitor.OfflineMessage{Name: req.Name, Email: req.Email, Message: req.Message, Language: req.Language, PageURL: req.Page}
	if err := visitor.CheckOffline(&m); err != nil {
		s.writeError(w, r, err)
		return
	}
	team, err := s.Users.TeamEmails(r.Context(), vr.site.TenantID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	lang := vr.site.Language
	txt, ok := offlineText[lang]
	if !ok {
		txt = offlineText["en"]
	}
	page := m.PageURL
	if page == "" {
		page = "-"
	}
	err = s.DB.Write(r.Context(), func(ctx context.Context, tx *sql.Tx) error {
		now := s.Clock.Now()
		if err := visitor.InsertOffline(ctx, tx, vr.visitor, &m, now); err != nil {
			return err
		}
		for _, to := range team {
			if err := mail.Enqueue(ctx, tx, vr.site.TenantID, "offline_message", mail.Message{
				To: to, ReplyTo: m.Email, Subject: fmt.Sprintf(txt[0], vr.site.Name),
				Text: fmt.Sprintf(txt[1], m.Name, m.Email, page, m.Message),
			}, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// The consoles' badge follows; a failed count only delays it to the
	// next /me, the message itself is stored.
	if open, err := s.Visitors.CountOpenOffline(r.Context(), vr.site.TenantID); err == nil && s.Hub != nil {
		s.Hub.AnnounceOffline(vr.site.TenantID, open)
	}
	writeJSON(w, http.StatusCreated, m)
}

type visitorTranscriptReq struct {
	Email    string `json:"email"`
	Language string `json:"language"`
}

// maxTranscripts bounds the transcripts one conversation may send, so the
// endpoint cannot be used to mail strangers repeatedly.
const maxTranscripts = 3

var transcriptWords = map[string][4]string{
	"fi": {"Keskustelusi: %s", "Tässä keskustelusi asiakaspalvelumme kanssa (%s).", "Sinä", "Tiedosto"},
	"sv": {"Din konversation: %s", "Här är din konversation med vår kundtjänst (%s).", "Du", "Fil"},
	"en": {"Your conversation: %s", "Here is your conversation with our customer service (%s).", "You", "File"},
}

// visitorTranscript serves POST …/conversations/{id}/transcript: the
// shopper asks for a copy of the chat by email.
func (s *Server) visitorTranscript(w http.ResponseWriter, r *http.Request, vr *visitorReq) {
	var req visitorTranscriptReq
	if err := decodeJSON(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	to, err := validate.Email("email", req.Email, true)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	lang := req.Language
	if lang == "" {
		lang = vr.site.Language
	}
	if err := validate.OneOf("language", lang, "fi", "sv", "en"); err != nil {
		s.writeError(w, r, err)
		return
	}
	convID := r.PathValue("id")
	var all []chat.Message
	var conv chat.Conversation
	for after := int64(0); ; {
		ms, c, err := s.Chat.Messages(r.Context(), vr.actor, convID, after, chat.MaxPageSize)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		conv = c
		all = append(all, ms...)
		if len(ms) < chat.MaxPageSize {
			break
		}
		after = ms[len(ms)-1].VisitorSeq
	}
	loc, lerr := time.LoadLocation(vr.site.Timezone)
	if lerr != nil {
		loc = time.UTC
	}
	words := transcriptWords[lang]
	var b strings.Builder
	fmt.Fprintf(&b, words[1]+"\n\n", conv.CreatedAt.In(loc).Format("2.1.2006"))
	for _, m := range all {
		if m.Kind != chat.Text && m.Kind != chat.File {
			continue
		}
		who := m.SenderName
		if m.SenderKind == chat.VisitorActor {
			who = words[2]
		}
		body := m.Body
		if m.Attachment != nil {
			body = strings.TrimSpace(words[3] + ": " + m.Attachment.Name + "\n" + body)
		}
		fmt.Fprintf(&b, "[%s] %s:\n%s\n\n", m.CreatedAt.In(loc).Format("15:04"), who, body)
	}
	err = s.DB.Write(r.Context(), func(ctx context.Context, tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE tenant_id = $1 AND conversation_id = $2 AND type = 'conversation.transcript_requested'`,
			vr.site.TenantID, conv.ID).Scan(&n); err != nil {
			return err
		}
		if n >= maxTranscripts {
			return apperr.New(apperr.RateLimited, "this conversation's transcript was sent %d times already", maxTranscripts)
		}
		now := s.Clock.Now()
		if err := mail.Enqueue(ctx, tx, vr.site.TenantID, "transcript", mail.Message{
			To: to, Subject: fmt.Sprintf(words[0], vr.site.Name), Text: b.String()}, now); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO events (id, tenant_id, site_id, conversation_id, visitor_id, actor_kind, actor_id, type, data, created_at)
			VALUES ($1, $2, $3, $4, $5, 'visitor', $5, 'conversation.transcript_requested', '{}', $6)`,
			id.New(), vr.site.TenantID, vr.site.ID, conv.ID, vr.visitor.ID, now)
		return err
	})
	s.respond(w, r, err, http.StatusAccepted, map[string]string{"email": to})
}
