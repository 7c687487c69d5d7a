package apperr_test

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"tiski/internal/apperr"
)

type sqlState string

func (s sqlState) Error() string    { return "server error " + string(s) }
func (s sqlState) SQLState() string { return string(s) }

// TestUnreachableIsUnavailable: an unclassified error that means the
// database could not be reached is "unavailable" (retry), not "internal".
func TestUnreachableIsUnavailable(t *testing.T) {
	for _, err := range []error{
		&net.OpError{Op: "dial", Err: errors.New("connection refused")},
		fmt.Errorf("query: %w", driver.ErrBadConn),
		fmt.Errorf("failed to receive message: %w", io.ErrUnexpectedEOF),
		sqlState("57P01"), sqlState("08006"),
	} {
		if e := apperr.As(err); e.Code != apperr.Unavailable {
			t.Errorf("%v: code %s, want unavailable", err, e.Code)
		}
	}
	for _, err := range []error{errors.New("boom"), sqlState("23505"), sqlState("42P01")} {
		if e := apperr.As(err); e.Code != apperr.Internal {
			t.Errorf("%v: code %s, want internal", err, e.Code)
		}
	}
	if e := apperr.As(apperr.New(apperr.Invalid, "bad")); e.Code != apperr.Invalid {
		t.Errorf("typed error reclassified as %s", e.Code)
	}
}
