package id_test

import (
	"encoding/hex"
	"strings"
	"sync"
	"testing"
	"time"

	"tiski/internal/id"
)

// millis reads the timestamp of a UUIDv7.
func millis(t *testing.T, s string) int64 {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", "")[:12])
	if err != nil {
		t.Fatal(err)
	}
	var ms int64
	for _, c := range b {
		ms = ms<<8 | int64(c)
	}
	return ms
}

func TestNewIsValidUniqueAndOrdered(t *testing.T) {
	const n = 50000
	before := time.Now().UnixMilli()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = id.New()
	}
	after := time.Now().UnixMilli()
	seen := make(map[string]bool, n)
	for i, s := range ids {
		if !id.Valid(s) {
			t.Fatalf("id %q is not valid", s)
		}
		if s[14] != '7' {
			t.Fatalf("id %q is not version 7", s)
		}
		if !strings.ContainsRune("89ab", rune(s[19])) {
			t.Fatalf("id %q lacks the RFC 9562 variant", s)
		}
		if seen[s] {
			t.Fatalf("id %q made twice", s)
		}
		seen[s] = true
		if i > 0 && s <= ids[i-1] {
			t.Fatalf("ids out of order: %q after %q", s, ids[i-1])
		}
	}
	// The timestamps are the creation times; a burst of more ids than fit
	// in a millisecond's counter may borrow from the next milliseconds.
	first, last := millis(t, ids[0]), millis(t, ids[n-1])
	if first < before || first > after || last < first || last > after+n/3072+1 {
		t.Fatalf("timestamps %d…%d outside %d…%d", first, last, before, after)
	}
}

func TestNewIsUniqueAcrossGoroutines(t *testing.T) {
	const workers, each = 8, 5000
	var mu sync.Mutex
	seen := make(map[string]bool, workers*each)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			mine := make([]string, each)
			for i := range mine {
				mine[i] = id.New()
			}
			for i := 1; i < each; i++ {
				if mine[i] <= mine[i-1] {
					t.Errorf("one goroutine's ids out of order: %q after %q", mine[i], mine[i-1])
					return
				}
			}
			mu.Lock()
			defer mu.Unlock()
			for _, s := range mine {
				if seen[s] {
					t.Errorf("id %q made twice", s)
				}
				seen[s] = true
			}
		})
	}
	wg.Wait()
	if len(seen) != workers*each {
		t.Fatalf("%d distinct ids, want %d", len(seen), workers*each)
	}
}

func TestValid(t *testing.T) {
	good := id.New()
	for _, s := range []string{"", good[:35], good + "0", strings.ToUpper(good), strings.ReplaceAll(good, "-", ""),
		good[:8] + "x" + good[9:], good[:10] + "g" + good[11:], "../../../../../../../../etc/passwd00", "00000000-0000-0000-0000-00000000000z"} {
		if id.Valid(s) {
			t.Errorf("Valid(%q) = true", s)
		}
	}
	if !id.Valid("00000000-0000-0000-0000-000000000000") || !id.Valid(good) {
		t.Fatal("a well-formed id is refused")
	}
}

func TestSecret(t *testing.T) {
	seen := map[string]bool{}
	for range 2000 {
		s := id.Secret("v_")
		body, ok := strings.CutPrefix(s, "v_")
		if !ok || len(body) != 43 { // 256 bits, base64 without padding
			t.Fatalf("secret %q", s)
		}
		for _, c := range body {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				t.Fatalf("secret %q is not URL-safe", s)
			}
		}
		if seen[s] {
			t.Fatalf("secret %q made twice", s)
		}
		seen[s] = true
	}
	if s := id.Secret(""); len(s) != 43 {
		t.Fatalf("secret without prefix %q", s)
	}
}

func TestKey(t *testing.T) {
	const alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
	seen := map[string]bool{}
	used := map[rune]bool{}
	for range 5000 {
		k := id.Key("w_")
		body, ok := strings.CutPrefix(k, "w_")
		if !ok || len(body) != 20 {
			t.Fatalf("key %q", k)
		}
		for _, c := range body {
			if !strings.ContainsRune(alphabet, c) {
				t.Fatalf("key %q has %q, outside the alphabet without look-alikes", k, c)
			}
			used[c] = true
		}
		if seen[k] {
			t.Fatalf("key %q made twice", k)
		}
		seen[k] = true
	}
	if len(used) != len(alphabet) {
		t.Fatalf("keys use %d of the %d characters", len(used), len(alphabet))
	}
}

func TestHash(t *testing.T) {
	if got := id.Hash("abc"); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("Hash(abc) = %s", got)
	}
	s := id.Secret("s_")
	if id.Hash(s) != id.Hash(s) || id.Hash(s) == id.Hash(s+"x") || strings.Contains(id.Hash(s), s) {
		t.Fatal("Hash is not a stable digest")
	}
}
