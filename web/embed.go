// Package web holds Tiski's built front-ends (the widget and the console),
// embedded in the binary. `make web` (part of `make build` and `make test`)
// builds them into web/dist with esbuild; without a build the directory
// holds only a placeholder and the server says the front-ends are missing.
package web

import (
	"embed"
	"encoding/json"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Assets is the built output: widget.js, assets/…, manifest.json.
func Assets() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	return sub
}

// Manifest maps logical asset names (console.js) to built files
// (assets/console-HASH.js). It is empty when nothing was built.
func Manifest() map[string]string {
	m := map[string]string{}
	b, err := fs.ReadFile(Assets(), "manifest.json")
	if err != nil {
		return m
	}
	_ = json.Unmarshal(b, &m)
	return m
}
