package canned_test

import (
	"testing"

	"tiski/internal/canned"
)

func TestExpand(t *testing.T) {
	v := canned.Values{"visitor.name": "Maija", "agent.name": "Aino", "site.name": "<Kauppa>"}
	for _, tc := range []struct{ body, want string }{
		{"Hei {{visitor.name}}!", "Hei Maija!"},
		{"Hei {{ visitor.name }}, olen {{agent.name}}.", "Hei Maija, olen Aino."},
		{"Tervetuloa {{site.name}}", "Tervetuloa <Kauppa>"}, // plain text: the console renders it as text
		{"Hei {{visitor.email}}, kiitos", "Hei, kiitos"},    // an empty value takes its leading space
		{"{{visitor.email}}", ""},
		{"Ei paikkamerkkejä {tässä}", "Ei paikkamerkkejä {tässä}"},
		{"{{agent.name}}{{agent.name}}", "AinoAino"},
	} {
		if got := canned.Expand(tc.body, v); got != tc.want {
			t.Errorf("Expand(%q) = %q, want %q", tc.body, got, tc.want)
		}
	}
}
