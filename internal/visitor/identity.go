package visitor

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// Identity signatures let a shop vouch for who a shopper is. The shop's
// backend computes, with the site's identity secret,
//
//	signature = hex(HMAC-SHA256(secret, id + "." + expires))
//
// where expires is a Unix time in seconds, and hands id, expires and the
// signature to the page, which passes them to Tiski('identify', …).

// MaxIdentityTTL bounds how far ahead a signature may expire, so that a
// leaked one is useless soon.
const MaxIdentityTTL = 7 * 24 * 3600

// SignIdentity returns the signature of customer id until expires.
func SignIdentity(secret, id string, expires int64) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(id + "." + strconv.FormatInt(expires, 10)))
	return hex.EncodeToString(m.Sum(nil))
}

// validSignature compares in constant time.
func validSignature(secret, id string, expires int64, sig string) bool {
	want := SignIdentity(secret, id, expires)
	return hmac.Equal([]byte(want), []byte(sig))
}
