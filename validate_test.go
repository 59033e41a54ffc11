package orderintake_test

import (
	"testing"

	oi "orderintake"
)

// Each domain type refuses what it cannot store, naming the field.
func TestValidateNamesTheField(t *testing.T) {
	okPrinter := func() *oi.Printer {
		return &oi.Printer{Name: "P", URL: "https://print.example/orders", Format: oi.FormatJSON, TimeoutMs: 15000}
	}
	okTrigger := func() *oi.Trigger {
		return &oi.Trigger{CustomerID: "cus_1", Name: "T", Event: oi.EventShipped, Method: oi.MethodURL, TemplateID: "tpl_1",
			Format: oi.FormatJSON, URL: "https://hooks.example/h", Status: oi.TriggerActive}
	}
	okSMTP := func() *oi.SMTPSettings {
		return &oi.SMTPSettings{FromAddress: "n@psp.example", Host: "smtp.psp.example", Port: 587}
	}
	cases := []struct {
		name  string
		v     interface{ Validate() error }
		field string // "" = valid
	}{
		{"customer ok", &oi.Customer{Name: "Shop", ReferenceID: "shop"}, ""},
		{"customer without reference", &oi.Customer{Name: "Shop", ReferenceID: "  "}, "referenceId"},
		{"printer ok", okPrinter(), ""},
		{"printer ftp url", func() *oi.Printer { p := okPrinter(); p.URL = "ftp://x/y"; return p }(), "url"},
		{"printer text format", func() *oi.Printer { p := okPrinter(); p.Format = oi.FormatText; return p }(), "format"},
		{"printer timeout", func() *oi.Printer { p := okPrinter(); p.TimeoutMs = 50; return p }(), "timeoutMs"},
		{"template ok", &oi.Template{Name: "t", Kind: oi.KindWebhook, Format: oi.FormatJSON, Body: "{}"}, ""},
		{"template kind", &oi.Template{Name: "t", Kind: "sms", Format: oi.FormatJSON, Body: "{}"}, "kind"},
		{"trigger ok", okTrigger(), ""},
		{"trigger event", func() *oi.Trigger { t := okTrigger(); t.Event = "lost"; return t }(), "event"},
		{"e-mail trigger without addresses", func() *oi.Trigger { t := okTrigger(); t.Method = oi.MethodEmail; return t }(), "emails"},
		{"e-mail trigger bad address", func() *oi.Trigger {
			t := okTrigger()
			t.Method, t.Emails = oi.MethodEmail, []string{"ops@shop.example", "not an address"}
			return t
		}(), "emails[1]"},
		{"smtp ok", okSMTP(), ""},
		{"smtp name in address", func() *oi.SMTPSettings { s := okSMTP(); s.FromAddress = "N <n@psp.example>"; return s }(), "fromAddress"},
		{"smtp port in host", func() *oi.SMTPSettings { s := okSMTP(); s.Host = "smtp.psp.example:25"; return s }(), "host"},
		{"smtp header injection", func() *oi.SMTPSettings { s := okSMTP(); s.FromName = "a\r\nBcc: x"; return s }(), "fromName"},
	}
	for _, c := range cases {
		err := c.v.Validate()
		if c.field == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		e, ok := err.(*oi.Error)
		if !ok || e.Code != oi.EINVALID || e.Field != c.field {
			t.Errorf("%s: error %#v, want EINVALID on %s", c.name, err, c.field)
		}
	}
}
