package delivery

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// BenchmarkBuildWebhookRequest is the per-attempt work before the dial:
// URL and secret checks, one signature per secret (two during a rotation)
// and the headers.
func BenchmarkBuildWebhookRequest(b *testing.B) {
	req := WebhookRequest{MessageID: "pb_01HXYZABCDEF", URL: "https://hooks.example.com/orders", Format: "json",
		Body: bytes.Repeat([]byte(`{"k":"v"},`), 100), Secrets: []string{newSecret(b), newSecret(b)}, Timestamp: time.Unix(1700000000, 0)}
	ctx := context.Background()
	b.SetBytes(int64(len(req.Body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := buildWebhookRequest(ctx, req, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}
