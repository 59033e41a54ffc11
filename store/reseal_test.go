package store_test

import (
	"context"
	"testing"

	oi "orderintake"
	"orderintake/internal/pgtest"
	"orderintake/internal/seal"
	"orderintake/internal/testenv"
	"orderintake/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Values written before rows were bound (and printer headers in clear) are
// resealed once at start; a sealed value copied to another row then fails.
func TestResealSecretsBindsOldValuesToTheirRows(t *testing.T) {
	ctx := context.Background()
	st := testenv.Store(t)
	sealer := testenv.Sealer(t)
	fx := testenv.Seed(t, st, sealer, "https://print.example/o", "https://hooks.example/h", oi.EventShipped) // trigger secret sealed the old way
	p, err := st.CreatePrinter(ctx, &oi.Printer{ID: oi.NewID("prn"), Name: "Legacy", URL: "https://print.example/o", Format: oi.FormatJSON,
		TimeoutMs: 1000, Headers: map[string]string{"Authorization": "Bearer legacy"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutSMTPSettings(ctx, &oi.SMTPSettings{FromAddress: "a@psp.example", Host: "smtp.psp.example", Port: 587, TLS: true},
		sealer.Seal("old-pw")); err != nil {
		t.Fatal(err)
	}

	n, err := st.ResealSecrets(ctx, sealer)
	if err != nil || n < 3 {
		t.Fatalf("ResealSecrets = %d, %v; want at least the trigger secret, the SMTP password and the printer headers", n, err)
	}
	if n, err := st.ResealSecrets(ctx, sealer); err != nil || n != 0 {
		t.Fatalf("second ResealSecrets = %d, %v; want nothing left to do", n, err)
	}

	secrets, _ := st.TriggerSecrets(ctx, fx.Triggers[oi.EventShipped].ID)
	if plain, legacy, err := sealer.OpenFor(secrets[0], seal.TriggerSecret(fx.Triggers[oi.EventShipped].ID)); err != nil || legacy || plain != fx.Secret {
		t.Fatalf("trigger secret after reseal = %q, legacy %v, %v", plain, legacy, err)
	}
	if _, _, err := sealer.OpenFor(secrets[0], seal.TriggerSecret("trg_other")); err == nil {
		t.Fatal("the resealed trigger secret opens as another trigger's")
	}
	_, pw, _ := st.GetSMTPSettings(ctx)
	if plain, legacy, err := sealer.OpenFor(pw, seal.SMTPPassword); err != nil || legacy || plain != "old-pw" {
		t.Fatalf("SMTP password after reseal = %q, legacy %v, %v", plain, legacy, err)
	}
	got, _ := st.GetPrinter(ctx, p.ID)
	if got.Headers["Authorization"] != oi.Masked || got.HeadersSealed == nil {
		t.Fatalf("printer after reseal: headers %v, sealed %d bytes; want masked and sealed", got.Headers, len(got.HeadersSealed))
	}
	if h, err := store.OpenPrinterHeaders(sealer, got); err != nil || h["Authorization"] != "Bearer legacy" {
		t.Fatalf("printer headers open to %v, %v", h, err)
	}
}
