package httpapi

import (
	"errors"
	"io"
	"mime"
	"net/http"

	"tiski/internal/apperr"
	"tiski/internal/chat"
	"tiski/internal/validate"
)

type ackResp struct {
	ID   string           `json:"id"`
	Conv string           `json:"conv"`
	Seq  int64            `json:"seq"`
	Dup  bool             `json:"dup,omitempty"`
	M    chat.MessageView `json:"m"`
}

// upload stores a file sent into a conversation as a multipart form: the
// fields id (client message id) and optionally body (a caption), then the
// part file. The file is checked and synced to disk before the message is
// committed; a retry or a failure removes the extra copy.
func (s *Server) upload(w http.ResponseWriter, r *http.Request, a chat.Actor, convID string) {
	if !s.uploadRL.Allow(clientIP(r)) {
		s.writeError(w, r, &apperr.Error{Code: apperr.RateLimited, Message: "too many uploads; wait a moment", RetryAfter: 5})
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "multipart/form-data" {
		s.writeError(w, r, apperr.New(apperr.Unsupported, "send files as multipart/form-data"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.Files.MaxBytes()+64<<10)
	mr, err := r.MultipartReader()
	if err != nil {
		s.writeError(w, r, apperr.New(apperr.Invalid, "the form could not be read"))
		return
	}
	fields := map[string]string{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			s.writeError(w, r, apperr.FieldError("file", "the form has no file part"))
			return
		}
		if err != nil {
			s.writeError(w, r, formError(err))
			return
		}
		name := part.FormName()
		if name != "file" {
			if name != "id" && name != "body" {
				s.writeError(w, r, apperr.FieldError(name, "unknown form field %q", name))
				return
			}
			v, err := io.ReadAll(io.LimitReader(part, 32<<10))
			if err != nil {
				s.writeError(w, r, formError(err))
				return
			}
			fields[name] = string(v)
			continue
		}
		// The file comes last: everything needed to store the message is known.
		if err := validate.ClientID("id", fields["id"]); err != nil {
			s.writeError(w, r, err)
			return
		}
		att, err := s.Files.Save(a.TenantID, part.FileName(), part)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		res, err := s.Chat.Send(r.Context(), a, chat.SendInput{ConversationID: convID, ClientMsgID: fields["id"],
			Kind: chat.File, Body: fields["body"], Attachment: att})
		if err != nil || res.Duplicate {
			s.Files.Remove(att)
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		m := &res.Message
		resp := ackResp{ID: fields["id"], Conv: m.ConversationID, Dup: res.Duplicate}
		if a.Kind == chat.VisitorActor {
			resp.Seq, resp.M = m.VisitorSeq, m.VisitorView(s.Files)
		} else {
			resp.Seq, resp.M = m.Seq, m.AgentView(s.Files)
		}
		status := http.StatusCreated
		if res.Duplicate {
			status = http.StatusOK
		}
		writeJSON(w, status, resp)
		return
	}
}

func formError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return apperr.New(apperr.TooLarge, "the upload is larger than allowed")
	}
	return apperr.Wrap(apperr.Invalid, err, "the form could not be read")
}
