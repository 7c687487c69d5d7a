package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"tiski/internal/apperr"
	"tiski/internal/realtime"
)

// readHello reads the hello frame that opens an SSE stream.
func (s *Server) readHello(w http.ResponseWriter, r *http.Request) (*realtime.ClientFrame, error) {
	if err := requireJSON(r); err != nil {
		return nil, err
	}
	body, err := readBody(w, r, realtime.MaxFrameBytes)
	if err != nil {
		return nil, err
	}
	f, err := realtime.DecodeClientFrame(body)
	if err != nil {
		return nil, err
	}
	if f.T != realtime.THello {
		return nil, apperr.FieldError("t", "the stream must open with a hello frame")
	}
	return f, nil
}

func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, apperr.New(apperr.TooLarge, "the request body is larger than %d KB", max>>10)
		}
		return nil, apperr.Wrap(apperr.Invalid, err, "the request body could not be read")
	}
	return body, nil
}

// maxPostedFrames bounds the frames of one POST.
const maxPostedFrames = 50

// frames runs client frames posted beside an SSE stream: one frame object
// or an array of them. The replies come back as a JSON array of frames.
func (s *Server) frames(w http.ResponseWriter, r *http.Request, p realtime.Principal) {
	if err := requireJSON(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	body, err := readBody(w, r, 4*realtime.MaxFrameBytes)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var raws []json.RawMessage
	if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == '[' {
		if err := json.Unmarshal(t, &raws); err != nil {
			s.writeError(w, r, apperr.New(apperr.Invalid, "the body must be a frame or an array of frames"))
			return
		}
	} else {
		raws = []json.RawMessage{body}
	}
	if len(raws) == 0 || len(raws) > maxPostedFrames {
		s.writeError(w, r, apperr.New(apperr.Invalid, "send between 1 and %d frames", maxPostedFrames))
		return
	}
	// Each frame gets its replies in order; a bad frame gets an error
	// frame and does not stop the others.
	var replies [][]byte
	for _, raw := range raws {
		f, err := realtime.DecodeClientFrame(raw)
		if err != nil {
			replies = append(replies, realtime.ErrorFrame(err, f))
			continue
		}
		replies = append(replies, s.Hub.HandleFrames(r.Context(), p, []*realtime.ClientFrame{f})...)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, f := range replies {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(f)
	}
	buf.WriteString("]\n")
	_, _ = w.Write(buf.Bytes())
}
