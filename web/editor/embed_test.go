package editor

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The committed bundle is what the binary serves: CodeMirror with the Jinja
// overlay, no reference to another origin, no eval.
func TestBundleServed(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	for name, ct := range Files {
		res, err := http.Get(srv.URL + "/hq/static/" + name)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != 200 || res.Header.Get("Content-Type") != ct || len(raw) == 0 {
			t.Fatalf("%s: %d %q, %d bytes, %v", name, res.StatusCode, res.Header.Get("Content-Type"), len(raw), err)
		}
		body := string(raw)
		if name == "editor.js" {
			for _, want := range []string{"cm-jinja-raw", "cm-errline", "attachShadow"} {
				if !strings.Contains(body, want) {
					t.Errorf("editor.js lacks %q", want)
				}
			}
			for _, bad := range []string{"eval(", "new Function(", "https://", "//cdn"} {
				if strings.Contains(body, bad) {
					t.Errorf("editor.js contains %q (CSP: no eval, no other origin)", bad)
				}
			}
		}
	}
	res, err := http.Get(srv.URL + "/hq/static/other.js")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Fatalf("unknown file: %d", res.StatusCode)
	}
}
