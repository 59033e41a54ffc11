package mapper

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*/expected from the current output")

// goldenCase is testdata/golden/<name>/case.json. Next to it: template (the
// body), input.json (the context; or "sample" names a SamplePostbackContext),
// and expected (the exact output) unless the case expects an error.
type goldenCase struct {
	Format  Format                 `json:"format"`
	Sample  string                 `json:"sample"`
	Intake  bool                   `json:"intake"` // input.json is a request body: build the context with IntakeContext
	Lookups map[string]LookupTable `json:"lookups"`
	Error   *struct {
		Kind    ErrorKind `json:"kind"`
		Where   string    `json:"where"`
		Line    int       `json:"line"`
		Column  int       `json:"column"`
		Message string    `json:"message"` // substring
	} `json:"error"`
}

func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/golden/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	e := NewEngine(Options{})
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var c goldenCase
			mustJSON(t, filepath.Join(dir, "case.json"), &c)
			body := readFile(t, filepath.Join(dir, "template"))
			data := map[string]any{}
			switch {
			case c.Sample != "":
				var ok bool
				if data, ok = SamplePostbackContext(c.Sample); !ok {
					t.Fatalf("no sample %q", c.Sample)
				}
			default:
				ct, name := "application/json", "input.json"
				if _, err := os.Stat(filepath.Join(dir, "input.xml")); err == nil {
					ct, name = "application/xml", "input.xml"
				}
				v, _, err := ParseInputOrdered(ct, []byte(readFile(t, filepath.Join(dir, name))))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if c.Intake {
					data = IntakeContext(v, map[string][]string{"X-Request-Id": {"req-1"}, "X-Api-Key": {"secret"}},
						CustomerInfo{ID: "cus_1", Name: "Acme Prints", ReferenceID: "ACME"}, time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC))
				} else {
					data, _ = AsMap(v)
				}
			}
			out, err := e.Render(context.Background(), Template{Format: c.Format, Body: body}, data, Lookups(c.Lookups))
			if c.Error != nil {
				var te *Error
				if !errors.As(err, &te) {
					t.Fatalf("want %s error, got output %q, err %v", c.Error.Kind, out, err)
				}
				t.Logf("error: %v\n%s", te, te.Excerpt)
				if te.Kind != c.Error.Kind || te.Where != c.Error.Where || te.Line != c.Error.Line || te.Column != c.Error.Column {
					t.Errorf("got %s in %s at %d:%d, want %s in %s at %d:%d", te.Kind, te.Where, te.Line, te.Column,
						c.Error.Kind, c.Error.Where, c.Error.Line, c.Error.Column)
				}
				if !strings.Contains(te.Message, c.Error.Message) {
					t.Errorf("message %q does not contain %q", te.Message, c.Error.Message)
				}
				if te.Excerpt == "" || !strings.Contains(te.Excerpt, "^") {
					t.Errorf("excerpt missing: %q", te.Excerpt)
				}
				return
			}
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			expPath := filepath.Join(dir, "expected")
			if *update {
				if err := os.WriteFile(expPath, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if want := readFile(t, expPath); string(out) != want {
				t.Errorf("output differs from %s\n got: %s\nwant: %s", expPath, out, want)
			}
			if c.Format == FormatJSON && !json.Valid(out) {
				t.Errorf("output is not JSON: %s", out)
			}
		})
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustJSON(t *testing.T, path string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(readFile(t, path)), v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
