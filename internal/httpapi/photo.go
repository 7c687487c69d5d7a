package httpapi

import (
	"io"
	"mime"
	"net/http"
	"regexp"
	"strings"

	"tiski/internal/apperr"
	"tiski/internal/user"
)

func (s *Server) putMyPhoto(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	s.storePhoto(w, r, ar.user.TenantID, ar.user.ID)
}

func (s *Server) deleteMyPhoto(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	u, err := s.Users.RemovePhoto(r.Context(), ar.user.TenantID, ar.user.ID)
	s.answerUser(w, r, u, err)
}

// photoTarget finds a user of the admin's tenant whom the admin may change.
func (s *Server) photoTarget(w http.ResponseWriter, r *http.Request, ar *agentReq) (user.User, bool) {
	target, err := s.Users.Get(r.Context(), ar.user.TenantID, r.PathValue("id"))
	if err == nil && !mayGrant(ar.user.Role, target.Role) {
		err = apperr.New(apperr.Forbidden, "you cannot change a user above your own role")
	}
	if err != nil {
		s.writeError(w, r, err)
		return target, false
	}
	return target, true
}

func (s *Server) putUserPhoto(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	if t, ok := s.photoTarget(w, r, ar); ok {
		s.storePhoto(w, r, t.TenantID, t.ID)
	}
}

func (s *Server) deleteUserPhoto(w http.ResponseWriter, r *http.Request, ar *agentReq) {
	if t, ok := s.photoTarget(w, r, ar); ok {
		u, err := s.Users.RemovePhoto(r.Context(), t.TenantID, t.ID)
		s.answerUser(w, r, u, err)
	}
}

func (s *Server) answerUser(w http.ResponseWriter, r *http.Request, u user.User, err error) {
	s.respond(w, r, err, 200, u)
}

// storePhoto reads the image from a multipart form (field "photo") or
// from the raw body, whose type the store sniffs from the bytes.
func (s *Server) storePhoto(w http.ResponseWriter, r *http.Request, tenantID, userID string) {
	r.Body = http.MaxBytesReader(w, r.Body, user.MaxPhotoBytes+64<<10)
	var data []byte
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		if err := r.ParseMultipartForm(user.MaxPhotoBytes); err != nil {
			s.writeError(w, r, formError(err))
			return
		}
		f, _, err := r.FormFile("photo")
		if err != nil {
			s.writeError(w, r, apperr.FieldError("photo", "the form needs a file in the field \"photo\""))
			return
		}
		defer f.Close()
		if data, err = io.ReadAll(io.LimitReader(f, user.MaxPhotoBytes+1)); err != nil {
			s.writeError(w, r, formError(err))
			return
		}
	} else {
		var err error
		if data, err = io.ReadAll(r.Body); err != nil {
			s.writeError(w, r, formError(err))
			return
		}
	}
	u, err := s.Users.SetPhoto(r.Context(), tenantID, userID, data)
	s.answerUser(w, r, u, err)
}

var photoFile = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}\.png$`)

// avatar serves a stored photo. The key changes with each photo, so the
// answer may be cached for ever; the headers keep a browser from reading
// it as anything but an image.
func (s *Server) avatar(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	if !photoFile.MatchString(name) {
		s.writeError(w, r, apperr.New(apperr.NotFound, "no such photo"))
		return
	}
	img, err := s.Users.PhotoByKey(r.Context(), strings.TrimSuffix(name, ".png"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/png")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Write(img)
}
