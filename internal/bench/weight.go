package bench

import (
	"bytes"
	"compress/gzip"
	"io/fs"

	"tiski/web"
)

// Asset is one built front-end file as the browser downloads it.
type Asset struct {
	Name    string `json:"name"`
	File    string `json:"file,omitempty"`
	Bytes   int    `json:"bytes"`
	Gzipped int    `json:"gzipped"`
	Target  int    `json:"target_gzipped,omitempty"`
	Built   bool   `json:"built"`
}

// weight reads the front-ends embedded in this binary (web/dist's
// manifest) and gzips each file at the default level, as a server or CDN
// would send it. Targets: the loader ≤ 3 KB, the widget (app and its
// style sheet together) ≤ 25 KB, the console's script ≤ 150 KB.
func weight() []Asset {
	manifest := web.Manifest()
	assets := []Asset{
		{Name: "widget.js", Target: 3000},
		{Name: "widget-app.js"},
		{Name: "widget-frame.css"},
		{Name: "console.js", Target: 150000},
		{Name: "console.css"},
	}
	for i := range assets {
		a := &assets[i]
		a.File = manifest[a.Name]
		if a.File == "" {
			continue
		}
		b, err := fs.ReadFile(web.Assets(), a.File)
		if err != nil {
			continue
		}
		var z bytes.Buffer
		w, _ := gzip.NewWriterLevel(&z, gzip.DefaultCompression)
		w.Write(b)
		w.Close()
		a.Bytes, a.Gzipped, a.Built = len(b), z.Len(), true
	}
	return assets
}
