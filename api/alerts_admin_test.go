package api_test

import (
	"strings"
	"testing"

	"orderintake/internal/webtest"
)

func TestAlertSettingsRoute(t *testing.T) {
	e := webtest.New(t)
	got := e.Must("GET", "/v1/admin/settings/alerts", nil, 200)
	if got["enabled"] != false || got["triggerFailures"] != float64(5) || got["hasWebhookSecret"] != false {
		t.Errorf("fresh settings = %v", got)
	}
	got = e.Must("PUT", "/v1/admin/settings/alerts", map[string]any{"enabled": true, "emails": []string{"ops@psp.example"},
		"webhookUrl": "https://ops.psp.example/alerts", "triggerFailures": 3, "printerFailures": 2}, 200)
	secret, _ := got["secret"].(string)
	if !strings.HasPrefix(secret, "whsec_") || got["hasWebhookSecret"] != true || got["triggerFailures"] != float64(3) {
		t.Fatalf("saved settings = %v, want a signing secret shown once", got)
	}
	got = e.Must("GET", "/v1/admin/settings/alerts", nil, 200)
	if got["secret"] != nil || got["hasWebhookSecret"] != true || got["printerFailures"] != float64(2) {
		t.Errorf("read back = %v (secret only in the answer that made it)", got)
	}
	got = e.Must("PUT", "/v1/admin/settings/alerts", map[string]any{"enabled": true, "webhookUrl": "https://ops.psp.example/alerts"}, 200)
	if got["secret"] != nil {
		t.Errorf("a save without rotateSecret made a new secret: %v", got)
	}
	got = e.Must("PUT", "/v1/admin/settings/alerts", map[string]any{"enabled": true, "webhookUrl": "https://ops.psp.example/alerts", "rotateSecret": true}, 200)
	if s, _ := got["secret"].(string); s == "" || s == secret {
		t.Errorf("rotateSecret gave %v", got["secret"])
	}
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"emails": []string{"Ops <ops@psp.example>"}}, "emails"},
		{map[string]any{"webhookUrl": "ftp://ops.example"}, "webhookUrl"},
		{map[string]any{"triggerFailures": 0}, "triggerFailures"},
		{map[string]any{"enabled": true}, "emails"},
	} {
		st, out := e.Admin("PUT", "/v1/admin/settings/alerts", c.body)
		problemAt(t, c.field, st, out, 422, c.field)
	}
}
