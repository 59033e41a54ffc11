package problem

import (
	"errors"
	"fmt"
	"testing"

	oi "orderintake"
)

// A client sees what was wrong and where, with the status its code maps
// to; an error without a code is a 500 that says nothing of its cause.
func TestOf(t *testing.T) {
	p := Of(fmt.Errorf("create customer: %w", oi.FieldError("name", "name is required")))
	if p.Status != 422 || p.Code != oi.EINVALID || p.Field != "name" || p.Detail != "name is required" ||
		p.Title != "Unprocessable Entity" || p.Type() != "https://orderintake.dev/problems/invalid" {
		t.Errorf("field error = %+v (type %s)", p, p.Type())
	}
	p = Of(&oi.Error{Code: oi.ETEMPLATE, Field: "body", Message: "unexpected end", Detail: map[string]any{"line": 3}})
	if p.Status != 422 || p.Extra["line"] != 3 {
		t.Errorf("template error = %+v", p)
	}
	p = Of(errors.New("dial tcp 10.0.0.5:5432: connection refused"))
	if p.Status != 500 || p.Detail != "internal error" || p.Field != "" {
		t.Errorf("an internal error shows %+v", p)
	}
	if Status(oi.ENOTFOUND) != 404 || Status(oi.ECONFLICT) != 409 || Status("no-such-code") != 500 {
		t.Error("status table")
	}
}
