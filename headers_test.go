package orderintake_test

import (
	"testing"

	oi "orderintake"
)

func TestSecretHeader(t *testing.T) {
	for _, name := range []string{"Authorization", "proxy-authorization", "Cookie", "Set-Cookie", "X-API-KEY", "X-Auth-Token",
		"X-Access-Token", "X-Client-Secret", "X-Password", "X-Hub-Signature-256", "Stripe-Signature", "X_Api_Key", "X-Apikey",
		"X-Session-Id", "X-Amz-Security-Token", "X-Access-Key", "X-Credentials"} {
		if !oi.SecretHeader(name) {
			t.Errorf("%s is not treated as a secret", name)
		}
	}
	for _, name := range []string{"Content-Type", "User-Agent", "Idempotency-Key", "X-Order-Id", "webhook-signature", "webhook-id",
		"X-Request-Id", "Accept"} {
		if oi.SecretHeader(name) {
			t.Errorf("%s is treated as a secret", name)
		}
	}
	got := oi.RedactHeaders(map[string][]string{"x-auth-token": {"t1"}, "accept": {"*/*"}})
	if got["x-auth-token"][0] != oi.Redacted || got["accept"][0] != "*/*" {
		t.Errorf("RedactHeaders = %v", got)
	}
}
