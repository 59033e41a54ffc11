package hq_test

import (
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"orderintake/internal/webtest"
)

// HQ's template editor: the Strict box saves strict templates, and a render
// lists its warnings under the output.
func TestHQTemplateStrictAndWarnings(t *testing.T) {
	e := webtest.New(t)
	b := e.Browser()
	b.Login()
	b.Get("/hq/templates/new")
	body := `{"to": "{{ customer.firstNme }}"}`
	st, page := b.Post("/hq/templates", url.Values{"name": {"strict form"}, "kind": {"intake"}, "format": {"json"},
		"body": {body}, "strict": {"on"}}, "csrf")
	if st != 200 {
		t.Fatalf("create from the form = %d", st)
	}
	var id string
	for _, it := range e.Must("GET", "/v1/admin/templates", nil, 200)["items"].([]any) {
		if m := it.(map[string]any); m["name"] == "strict form" {
			id = m["id"].(string)
			if m["strict"] != true {
				t.Errorf("template saved from the form with Strict checked = %v", m)
			}
		}
	}
	if id == "" {
		t.Fatalf("no template saved; page:\n%s", page)
	}
	if st, page = b.Get("/hq/templates/" + id); st != 200 || !regexp.MustCompile(`name="strict" id="strict" checked`).MatchString(page) {
		t.Errorf("editor of a strict template = %d, Strict box not checked", st)
	}
	// Render, not strict: the output and the warnings.
	st, page = b.Post("/hq/templates/render", url.Values{"id": {id}, "kind": {"intake"}, "format": {"json"}, "body": {body},
		"input": {`{"customer": {"firstName": "Ann"}}`}}, "csrf")
	if st != 200 || !strings.Contains(page, `id="render-warnings"`) || !strings.Contains(page, "line 1, column 12") ||
		!strings.Contains(page, "customer.firstNme is undefined") {
		t.Errorf("render in the editor = %d, no warnings shown:\n%s", st, page)
	}
	// Render, strict: the error, its line marked.
	st, page = b.Post("/hq/templates/render", url.Values{"id": {id}, "kind": {"intake"}, "format": {"json"}, "body": {body},
		"input": {`{"customer": {"firstName": "Ann"}}`}, "strict": {"on"}}, "csrf")
	if !strings.Contains(html.UnescapeString(page), "customer.firstNme is undefined (the template is strict") || !strings.Contains(page, `id="errline"`) {
		t.Errorf("strict render in the editor = %d, no error shown:\n%s", st, page)
	}
}
