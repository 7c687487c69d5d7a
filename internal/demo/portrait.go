package demo

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
)

// look is the palette of a drawn demo portrait.
type look struct {
	bg, skin, hair, shirt color.NRGBA
	longHair              bool
}

var looks = map[string]look{
	"Aino": {bg: color.NRGBA{0xd8, 0xec, 0xe9, 0xff}, skin: color.NRGBA{0xf1, 0xc9, 0xa8, 0xff},
		hair: color.NRGBA{0xc8, 0x8a, 0x3c, 0xff}, shirt: color.NRGBA{0x0f, 0x76, 0x6e, 0xff}, longHair: true},
	"Eero": {bg: color.NRGBA{0xe3, 0xe4, 0xf4, 0xff}, skin: color.NRGBA{0xe0, 0xb0, 0x8c, 0xff},
		hair: color.NRGBA{0x4a, 0x35, 0x28, 0xff}, shirt: color.NRGBA{0x3b, 0x4a, 0x8c, 0xff}},
}

// portrait draws a simple, friendly head-and-shoulders picture as a PNG,
// so the demo shows photos without shipping image files.
func portrait(name string) []byte {
	lk, ok := looks[name]
	if !ok {
		lk = looks["Eero"]
	}
	const n, ss = 256, 3 // size and supersampling per axis
	in := func(x, y, cx, cy, rx, ry float64) bool {
		dx, dy := (x-cx)/rx, (y-cy)/ry
		return dx*dx+dy*dy <= 1
	}
	// colourAt paints back to front: hair behind, shoulders, neck, face, fringe.
	colourAt := func(x, y float64) color.NRGBA {
		c := lk.bg
		if lk.longHair && in(x, y, 128, 128, 66, 84) && y > 60 && y < 200 {
			c = lk.hair
		}
		if in(x, y, 128, 262, 112, 84) {
			c = lk.shirt
		}
		if x > 110 && x < 146 && y > 150 && y < 196 {
			c = lk.skin
		}
		if in(x, y, 128, 120, 50, 60) {
			c = lk.skin
		}
		if in(x, y, 128, 92, 56, 42) && y < 96 {
			c = lk.hair
		}
		// Eyes and a smile, in the hair's colour, darker.
		dark := color.NRGBA{lk.hair.R / 2, lk.hair.G / 2, lk.hair.B / 2, 0xff}
		if in(x, y, 110, 122, 5, 6) || in(x, y, 146, 122, 5, 6) {
			c = dark
		}
		if in(x, y, 128, 144, 18, 12) && !in(x, y, 128, 140, 18, 11) && y > 144 {
			c = dark
		}
		return c
	}
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	for py := range n {
		for px := range n {
			var r, g, b int
			for sy := range ss {
				for sx := range ss {
					c := colourAt(float64(px)+(float64(sx)+.5)/ss, float64(py)+(float64(sy)+.5)/ss)
					r, g, b = r+int(c.R), g+int(c.G), b+int(c.B)
				}
			}
			img.SetNRGBA(px, py, color.NRGBA{uint8(r / (ss * ss)), uint8(g / (ss * ss)), uint8(b / (ss * ss)), 0xff})
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img) // encoding an in-memory NRGBA cannot fail
	return buf.Bytes()
}
