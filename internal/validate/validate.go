// Package validate holds the input rules shared by every entry point: text
// must be valid UTF-8 without control characters, within a length, and so on.
// Each check returns a typed apperr naming the field at fault.
package validate

import (
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"tiski/internal/apperr"
)

// Text checks a single-line text field: valid UTF-8, no control characters,
// at most max characters. It returns the value with surrounding space trimmed.
func Text(field, s string, max int, required bool) (string, error) {
	if !utf8.ValidString(s) {
		return "", apperr.FieldError(field, "%s is not valid UTF-8", field)
	}
	s = strings.TrimSpace(s)
	if required && s == "" {
		return "", apperr.FieldError(field, "%s is required", field)
	}
	if n := utf8.RuneCountInString(s); n > max {
		return "", &apperr.Error{Code: apperr.TooLarge, Field: field, Message: field + " is longer than the limit"}
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", apperr.FieldError(field, "%s contains a control character", field)
		}
	}
	return s, nil
}

// Multiline checks free text such as a message body: like Text, but line
// breaks and tabs are allowed and the text is kept exactly as typed.
func Multiline(field, s string, max int) (string, error) {
	if !utf8.ValidString(s) {
		return "", apperr.FieldError(field, "%s is not valid UTF-8", field)
	}
	if strings.TrimSpace(s) == "" {
		return "", apperr.FieldError(field, "%s is empty", field)
	}
	if n := utf8.RuneCountInString(s); n > max {
		return "", &apperr.Error{Code: apperr.TooLarge, Field: field, Message: field + " is longer than the limit"}
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' {
			return "", apperr.FieldError(field, "%s contains a control character", field)
		}
	}
	return s, nil
}

// Email checks and normalises an email address (lower case, no display name).
func Email(field, s string, required bool) (string, error) {
	s, err := Text(field, s, 254, required)
	if err != nil || s == "" {
		return s, err
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") && !strings.HasSuffix(s, "@localhost") {
		return "", apperr.FieldError(field, "%s is not a valid email address", field)
	}
	return strings.ToLower(s), nil
}

// Origin checks and normalises a web origin: scheme://host[:port], http or
// https, nothing else.
func Origin(field, s string) (string, error) {
	s, err := Text(field, s, 300, true)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", apperr.FieldError(field, "%q is not an origin like https://shop.example", s)
	}
	host := strings.ToLower(u.Host)
	// Write the port as browsers do in the Origin header: in plain digits,
	// and not at all when it is empty or the scheme's default.
	if port := u.Port(); port != "" || strings.HasSuffix(host, ":") {
		host = strings.TrimSuffix(strings.TrimSuffix(host, port), ":")
		if port != "" {
			n, err := strconv.Atoi(port)
			if err != nil || n < 1 || n > 65535 {
				return "", apperr.FieldError(field, "%q has no valid port", s)
			}
			if !(u.Scheme == "https" && n == 443 || u.Scheme == "http" && n == 80) {
				host += ":" + strconv.Itoa(n)
			}
		}
	}
	return u.Scheme + "://" + host, nil
}

// OneOf checks that s is one of allowed.
func OneOf(field, s string, allowed ...string) error {
	for _, a := range allowed {
		if s == a {
			return nil
		}
	}
	return apperr.FieldError(field, "%s must be one of %s", field, strings.Join(allowed, ", "))
}

// ClientID checks a client-chosen idempotency id: 1–64 characters of
// [A-Za-z0-9_.:-]. UUIDs fit.
func ClientID(field, s string) error {
	if s == "" {
		return apperr.FieldError(field, "%s is required", field)
	}
	if len(s) > 64 {
		return &apperr.Error{Code: apperr.TooLarge, Field: field, Message: field + " is longer than 64 characters"}
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return apperr.FieldError(field, "%s may contain only letters, digits and - _ . :", field)
		}
	}
	return nil
}
