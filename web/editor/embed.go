// Package editor holds the HQ template editor's front-end bundle
// (CodeMirror 6 with a Jinja overlay, built from src/ by build.mjs) and
// serves it from the binary: the HQ pages load it from their own origin,
// as their CSP requires.
package editor

import (
	"embed"
	"net/http"
	"path"
)

//go:embed dist/editor.js dist/editor.css
var dist embed.FS

// Files are the bundle's files by the name the pages link them under.
var Files = map[string]string{
	"editor.js":  "application/javascript; charset=utf-8",
	"editor.css": "text/css; charset=utf-8",
}

// Read returns one bundle file (editor.js or editor.css) and its content type.
func Read(name string) ([]byte, string, bool) {
	ct, ok := Files[name]
	if !ok {
		return nil, "", false
	}
	b, err := dist.ReadFile(path.Join("dist", name))
	if err != nil {
		return nil, "", false
	}
	return b, ct, true
}

// Handler serves the bundle files by their last path element
// (…/editor.js, …/editor.css); anything else is 404.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ct, ok := Read(path.Base(r.URL.Path))
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(b)
	})
}
