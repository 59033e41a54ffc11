package activities_test

import (
	"context"
	"strings"
	"testing"

	oi "orderintake"
	"orderintake/internal/testenv"
	"orderintake/mapper"
	"orderintake/render"
)

// An e-mail template that is an HTML document escapes the values it prints:
// a printer's message cannot become markup in the PSP's own mail. A plain
// text e-mail keeps them as they are.
func TestHTMLEmailTemplateEscapesValues(t *testing.T) {
	ctx := context.Background()
	st := testenv.Store(t)
	eng := mapper.NewEngine(mapper.Options{})
	data := map[string]any{"message": `<a href="https://evil.example">Pay here</a> & "more"`}
	for _, tc := range []struct {
		body, want, notWant string
	}{
		{`<!DOCTYPE html><html><body><p title="{{ message }}">{{ message }}</p></body></html>`,
			`<p title="&lt;a href=&quot;https://evil.example&quot;&gt;Pay here&lt;/a&gt; &amp; &quot;more&quot;">`, `<a href=`},
		{`Update: {{ message }}`, `Update: <a href="https://evil.example">Pay here</a> & "more"`, `&lt;`},
	} {
		tpl, err := st.CreateTemplate(ctx, &oi.Template{ID: oi.NewID("tpl"), Name: "mail", Kind: "email", Format: oi.FormatText,
			Body: tc.body, Subject: "Order {{ message }}"})
		if err != nil {
			t.Fatal(err)
		}
		tr := &oi.Trigger{ID: oi.NewID("trg"), Method: oi.MethodEmail, TemplateID: tpl.ID, Format: oi.FormatText, Emails: []string{"a@shop.example"}}
		p, err := render.Trigger(ctx, st, eng, tr, data, nil)
		if err != nil || p.RenderError != nil {
			t.Fatalf("render %q: %v %s", tc.body, err, p.RenderError)
		}
		out := string(p.Body)
		if !strings.Contains(out, tc.want) || strings.Contains(out, tc.notWant) {
			t.Errorf("template %q rendered\n%s\nwant it to contain %q and not %q", tc.body, out, tc.want, tc.notWant)
		}
	}
}
