package api_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	oi "orderintake"
	"orderintake/delivery"
	"orderintake/internal/seal"
	"orderintake/internal/smtptest"
	"orderintake/internal/webtest"
	"orderintake/store"
)

// newSealedEnv is an Env whose webhook fires on shipped, with its sealer,
// to look at what is stored.
func newSealedEnv(t *testing.T) (*webtest.Env, *seal.Sealer) {
	t.Helper()
	e := webtest.NewWith(t, webtest.Options{Seed: true, Events: []string{oi.EventShipped}})
	return e, e.Sealer
}

// Printer headers are sealed at rest, shown masked, and write-only: a PATCH
// without headers keeps them, a masked value keeps that header.
func TestPrinterHeadersSealedMaskedAndWriteOnly(t *testing.T) {
	e, sealer := newSealedEnv(t)
	ctx := context.Background()
	out := e.Must("POST", "/v1/admin/printers", map[string]any{"name": "Acme Print", "url": "https://print.example/orders",
		"headers": map[string]string{"Authorization": "Bearer s3cret-token", "X-Account": "acme-7"}}, 201)
	id := out["id"].(string)
	h := out["headers"].(map[string]any)
	if len(h) != 2 || h["Authorization"] != oi.Masked || h["X-Account"] != oi.Masked {
		t.Fatalf("created printer shows headers %v, want both names with %s", h, oi.Masked)
	}
	p, err := e.Store.GetPrinter(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(p.HeadersSealed), "s3cret") || p.Headers["Authorization"] != oi.Masked {
		t.Fatalf("stored printer: headers %v, sealed %q: the token is at rest in clear", p.Headers, p.HeadersSealed)
	}
	got := e.Must("GET", "/v1/admin/printers/"+id, nil, 200)
	if g := got["headers"].(map[string]any); g["Authorization"] != oi.Masked {
		t.Fatalf("GET shows %v", g)
	}

	e.Must("PATCH", "/v1/admin/printers/"+id, map[string]any{"name": "Acme Print EU"}, 200)
	if plain := openHeaders(t, e, sealer, id); plain["Authorization"] != "Bearer s3cret-token" || plain["X-Account"] != "acme-7" {
		t.Fatalf("after a PATCH without headers: %v, want both kept", plain)
	}
	// As HQ's form sends it back: the masked value keeps the stored one.
	e.Must("PATCH", "/v1/admin/printers/"+id, map[string]any{"headers": map[string]string{"Authorization": oi.Masked, "X-Region": "eu"}}, 200)
	plain := openHeaders(t, e, sealer, id)
	if len(plain) != 2 || plain["Authorization"] != "Bearer s3cret-token" || plain["X-Region"] != "eu" {
		t.Fatalf("after a PATCH with a masked value: %v, want Authorization kept, X-Region set, X-Account gone", plain)
	}
	st, prob := e.Admin("PATCH", "/v1/admin/printers/"+id, map[string]any{"headers": map[string]string{"X-Unknown": oi.Masked}})
	problemAt(t, "masked value for a header never stored", st, prob, 422, "headers")
}

func openHeaders(t *testing.T, e *webtest.Env, sealer *seal.Sealer, id string) map[string]string {
	t.Helper()
	p, err := e.Store.GetPrinter(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := store.OpenPrinterHeaders(sealer, p)
	if err != nil {
		t.Fatal(err)
	}
	return plain
}

// Pointing the SMTP settings at another server drops the stored password, so
// a send (as the worker makes it from the stored settings) cannot offer it to
// that server; the same host keeps it.
func TestSMTPPasswordDroppedWhenTheServerChanges(t *testing.T) {
	e, sealer := newSealedEnv(t)
	ctx := context.Background()
	const password = "pw-very-secret-123"
	base := map[string]any{"fromAddress": "orders@psp.example", "host": "smtp.psp.example", "port": 587, "username": "psp", "tls": true}
	with := func(kv ...any) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	if got := e.Must("PUT", "/v1/admin/settings/smtp", with("password", password), 200); got["hasPassword"] != true {
		t.Fatalf("saved = %v", got)
	}
	if got := e.Must("PUT", "/v1/admin/settings/smtp", with("fromName", "PSP"), 200); got["hasPassword"] != true {
		t.Fatalf("same server, no password given: %v, want the password kept", got)
	}
	for _, change := range [][]any{{"username", "someone-else"}, {"port", 2525}, {"host", "smtp.evil.example"}} {
		e.Must("PUT", "/v1/admin/settings/smtp", with("password", password), 200)
		got := e.Must("PUT", "/v1/admin/settings/smtp", with(change...), 200)
		if got["hasPassword"] != false {
			t.Errorf("changing %v kept the password: %v", change, got)
		}
	}

	// The attacker's server on loopback, as the worker would reach it with the stored settings.
	port, seen := smtptest.AuthServer(t, "235 2.7.0 ok")
	e.Must("PUT", "/v1/admin/settings/smtp", with("password", password), 200)
	e.Must("PUT", "/v1/admin/settings/smtp", with("host", "127.0.0.1", "port", port, "tls", false, "allowPlainAuth", true), 200)
	stt, sealed, err := e.Store.GetSMTPSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pw, _, err := sealer.OpenFor(sealed, seal.SMTPPassword)
	if err != nil {
		t.Fatal(err)
	}
	delivery.NewMailer(&delivery.Guard{AllowPrivate: true}, 5*time.Second).Send(ctx, delivery.SMTPSettings{FromAddress: stt.FromAddress,
		Host: stt.Host, Port: stt.Port, Username: stt.Username, Password: pw, TLS: stt.TLS, AllowPlainAuth: stt.AllowPlainAuth},
		delivery.Email{To: []string{"a@shop.example"}, Subject: "test", Text: "test"})
	for _, line := range seen() {
		f := strings.Fields(line)
		raw, _ := base64.StdEncoding.DecodeString(f[len(f)-1])
		if strings.Contains(line, password) || strings.Contains(string(raw), password) {
			t.Fatalf("the stored password reached the new server: %q", line)
		}
	}
}
