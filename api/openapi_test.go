package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/gin-gonic/gin"

	oi "orderintake"
	"orderintake/api"
	"orderintake/internal/app"
	"orderintake/internal/webtest"
)

// TestOpenAPIMatchesRoutes holds the document and gin's routes to each
// other: an undocumented route and a documented route that is not
// registered both fail.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc, _ := webtest.Contract(t)
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+ginPath(path)] = true
		}
	}
	// The router a process serves (the HQ pages mounted on the API's
	// engine): a route added there outside /hq/ must be documented too.
	engine, ok := app.Handler(api.Config{AdminToken: webtest.AdminToken, Logger: webtest.Quiet}).(*gin.Engine)
	if !ok {
		t.Fatal("app.Handler is no longer the gin engine: adapt this test to reach engine.Routes()")
	}
	registered := map[string]bool{}
	for _, r := range engine.Routes() {
		if strings.HasPrefix(r.Path, "/hq/") {
			continue // HTML pages and forms: not part of the API document
		}
		registered[r.Method+" "+r.Path] = true
	}
	var missing, stale []string
	for k := range registered {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !registered[k] {
			stale = append(stale, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	if len(missing) > 0 {
		t.Errorf("routes missing from /openapi.json (add them in api/openapi.go):\n  %s", strings.Join(missing, "\n  "))
	}
	if len(stale) > 0 {
		t.Errorf("documented in /openapi.json but not registered:\n  %s", strings.Join(stale, "\n  "))
	}
	if len(registered) < 40 {
		t.Fatalf("only %d routes registered: the comparison is not looking at the real router", len(registered))
	}
}

// ginPath turns /v1/admin/customers/{id} into gin's /v1/admin/customers/:id.
func ginPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			parts[i] = ":" + s[1:len(s)-1]
		}
	}
	return strings.Join(parts, "/")
}

func TestOpenAPIServed(t *testing.T) {
	e := webtest.New(t)
	status, _, resp, raw := e.Do("GET", "/openapi.json", nil, "")
	if status != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /openapi.json = %d %s", status, resp.Header.Get("Content-Type"))
	}
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil || doc.OpenAPI != "3.1.0" || doc.Paths["/v1/admin/requests"] == nil {
		t.Fatalf("served document: openapi=%q, %d paths, err %v", doc.OpenAPI, len(doc.Paths), err)
	}
}

// TestOpenAPICatchesWrongExamples makes sure the validation used by every
// API test can fail: a response missing a required field and an
// undocumented status are both refused.
func TestOpenAPICatchesWrongExamples(t *testing.T) {
	_, router := webtest.Contract(t)
	req, _ := http.NewRequest("GET", "http://127.0.0.1/v1/admin/customers/cus_1", nil)
	route, params, err := router.FindRoute(req)
	if err != nil {
		t.Fatal(err)
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	hdr := http.Header{"Content-Type": {"application/json"}}
	for _, c := range []struct {
		status int
		body   string
	}{
		{200, `{"id": "cus_1", "name": "Shop"}`}, // required fields missing
		{418, `{}`},                              // undocumented status
		// A field the Go type does not have: answers are closed.
		{200, `{"id": "cus_1", "name": "Shop", "referenceId": "s", "printerId": "", "intakeTemplateId": "", "cancelTemplateId": "",
			"referenceExpression": "", "createdAt": "2026-11-22T10:00:00Z", "updatedAt": "2026-11-22T10:00:00Z", "secretNote": "x"}`},
	} {
		err := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{RequestValidationInput: in,
			Status: c.status, Header: hdr, Body: io.NopCloser(strings.NewReader(c.body)), Options: opts})
		if err == nil {
			t.Errorf("response %d %s passed validation", c.status, c.body)
		}
	}
}

// TestOpenAPISchemasFollowTheTypes checks the derivation: every object
// schema of an answer or body is closed, and a field is in the document
// exactly when its Go type has it.
func TestOpenAPISchemasFollowTheTypes(t *testing.T) {
	doc, _ := webtest.Contract(t)
	for name, ref := range doc.Components.Schemas {
		s := ref.Value
		if name == "Problem" || s.Type == nil || !s.Type.Is("object") || len(s.Properties) == 0 {
			continue
		}
		if s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has {
			t.Errorf("schema %s is open: answers could carry fields the document does not list", name)
		}
	}
	smtp := doc.Components.Schemas["SMTPSettings"].Value
	for _, f := range []string{"fromAddress", "host", "port", "hasPassword", "tls", "allowPlainAuth"} {
		if smtp.Properties[f] == nil {
			t.Errorf("SMTPSettings lacks %s, a field of oi.SMTPSettings", f)
		}
	}
	if smtp.Properties["password"] != nil {
		t.Error("SMTPSettings shows password, which the type never serialises (json:\"-\")")
	}
	if e := doc.Components.Schemas["Trigger"].Value.Properties["event"].Value.Enum; len(e) != len(oi.Events) {
		t.Errorf("Trigger.event enum = %v, want the domain's events", e)
	}
}
