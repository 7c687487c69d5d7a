package httpapi

import (
	"net/http"
	"path"
	"strings"
)

// serveAsset serves a built front-end file. Files under assets/ carry a
// content hash in their name and are cached for good; the rest (the widget
// loader, whose address shops paste into their pages) only briefly.
func (s *Server) serveAsset(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.writeAsset(w, r, name)
	}
}

func (s *Server) writeAsset(w http.ResponseWriter, r *http.Request, name string) {
	if s.Assets == nil {
		http.NotFound(w, r)
		return
	}
	f, err := s.Assets.Open(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	if strings.HasPrefix(name, "assets/") {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "public, max-age=300")
	}
	// Scripts are loaded by shop pages on other origins.
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	rs, ok := f.(interface {
		Read([]byte) (int, error)
		Seek(int64, int) (int64, error)
	})
	if !ok {
		http.NotFound(w, r)
		return
	}
	http.ServeContent(w, r, name, st.ModTime(), rs)
}

// assetFile serves GET /assets/{file}: hashed front-end files.
func (s *Server) assetFile(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	if file == "" || strings.Contains(file, "/") || path.Clean(file) != file {
		http.NotFound(w, r)
		return
	}
	s.writeAsset(w, r, "assets/"+file)
}

// assetURL is the address of a built asset by logical name, or "" when
// the front-ends were not built.
func (s *Server) assetURL(logical string) string {
	if f, ok := s.Manifest[logical]; ok {
		return "/" + f
	}
	return ""
}
