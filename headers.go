package orderintake

import "strings"

// Redacted replaces a secret header value wherever headers are stored or shown.
const Redacted = "[redacted]"

// SecretHeader reports header names whose values are credentials: they are
// never stored in clear nor shown (intake request, printer final request and
// response, postback attempts). One rule for every place, so a credential kept
// out of one view cannot show up in another.
func SecretHeader(name string) bool {
	n := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(name)), "_", "-")
	switch n {
	case "webhook-signature":
		// Ours, derived from the trigger secret without revealing it; operators
		// need it to debug a receiver's verification.
		return false
	case "idempotency-key":
		return false // an order id, not a credential
	case "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "x-auth-token":
		return true
	}
	for _, w := range []string{"token", "secret", "passw", "signature", "api-key", "apikey", "auth", "credential", "session"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return strings.HasSuffix(n, "key") // x-access-key, private-key, …
}

// RedactHeaders returns a copy of h with every secret value replaced by Redacted.
func RedactHeaders(h map[string][]string) map[string][]string {
	if h == nil {
		return nil
	}
	out := make(map[string][]string, len(h))
	for k, vs := range h {
		if SecretHeader(k) {
			vs = []string{Redacted}
		}
		out[k] = vs
	}
	return out
}

// RedactHeaderMap is RedactHeaders for single-valued headers.
func RedactHeaderMap(h map[string]string) map[string]string {
	if h == nil {
		return nil
	}
	out := make(map[string]string, len(h))
	for k, v := range h {
		if SecretHeader(k) {
			v = Redacted
		}
		out[k] = v
	}
	return out
}

// Masked shows a write-only value (printer headers) that is set.
const Masked = "••••"

// MaskHeaderMap returns the names of h with every value shown as Masked.
func MaskHeaderMap(h map[string]string) map[string]string {
	out := make(map[string]string, len(h))
	for k := range h {
		out[k] = Masked
	}
	return out
}
