package httpapi

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
)

// A client that goes away mid-request is not a server failure: thousands of
// dropped connections must not fill the log with errors. A real failure
// still logs one.
func TestWriteErrorLogsClientGoneQuietly(t *testing.T) {
	var buf bytes.Buffer
	s := &Server{log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequest("GET", "/api/widget/v1/sites/x/rt", nil).WithContext(ctx)
	s.writeError(httptest.NewRecorder(), r, ctx.Err())
	if buf.Len() != 0 {
		t.Fatalf("a gone client was logged at info or above: %s", buf.String())
	}

	r = httptest.NewRequest("GET", "/api/console/v1/me", nil)
	s.writeError(httptest.NewRecorder(), r, errors.New("disk on fire"))
	if !strings.Contains(buf.String(), "request failed") || !strings.Contains(buf.String(), "level=ERROR") {
		t.Fatalf("a server failure was not logged as an error: %q", buf.String())
	}
}
