package webtest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"orderintake/api"
)

var (
	contractOnce   sync.Once
	contractDoc    *openapi3.T
	contractRouter routers.Router
	contractErr    error
)

// Contract loads /openapi.json with kin-openapi (which validates OpenAPI 3.1
// with JSON Schema 2020-12) once per test binary.
func Contract(t testing.TB) (*openapi3.T, routers.Router) {
	t.Helper()
	contractOnce.Do(func() {
		loader := openapi3.NewLoader()
		contractDoc, contractErr = loader.LoadFromData(api.OpenAPIDocument())
		if contractErr == nil {
			contractErr = contractDoc.Validate(context.Background())
		}
		if contractErr == nil {
			contractRouter, contractErr = gorillamux.NewRouter(contractDoc)
		}
	})
	if contractErr != nil {
		t.Fatalf("openapi document: %v", contractErr)
	}
	return contractDoc, contractRouter
}

// CheckExchange validates one request and its response against the
// document: the route and status must be documented, parameters and bodies
// must match their schemas.
func CheckExchange(t testing.TB, req *http.Request, reqBody []byte, status int, hdr http.Header, respBody []byte) {
	t.Helper()
	_, router := Contract(t)
	r := req.Clone(context.Background())
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := router.FindRoute(r)
	if err != nil {
		if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
			t.Errorf("openapi: %s %s answered %d but is not in the document: %v", req.Method, req.URL.Path, status, err)
		}
		return
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true,
		MultiError: true}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts}
	// Requests a test sends wrong on purpose are checked only for their answer.
	if status < 400 || status >= 500 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Errorf("openapi: request %s %s does not match the document: %v", req.Method, req.URL, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: hdr,
		Body: io.NopCloser(bytes.NewReader(respBody)), Options: opts}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("openapi: response %d to %s %s does not match the document: %v\n%s", status, req.Method, req.URL, err, respBody)
	}
}
