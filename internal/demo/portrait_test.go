package demo

import (
	"bytes"
	"image/color"
	"image/png"
	"testing"

	"tiski/internal/user"
)

// The drawn portraits are valid photos: they decode, have a face in the
// middle, and pass the same checks as an agent's upload.
func TestPortraits(t *testing.T) {
	for _, a := range Agents {
		data := portrait(a.Name)
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", a.Name, err)
		}
		if c := color.NRGBAModel.Convert(img.At(128, 110)); c != looks[a.Name].skin {
			t.Errorf("%s: centre %v, want skin %v", a.Name, c, looks[a.Name].skin)
		}
		if _, err := user.NormalizePhoto(data); err != nil {
			t.Errorf("%s: %v", a.Name, err)
		}
	}
}
