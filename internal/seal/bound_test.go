package seal

import (
	"crypto/sha256"
	"testing"
)

func TestBoundValueOpensOnlyInItsRow(t *testing.T) {
	s, err := New(NewKey())
	if err != nil {
		t.Fatal(err)
	}
	v := s.SealFor("whsec_one", TriggerSecret("trg_a"))
	if p, legacy, err := s.OpenFor(v, TriggerSecret("trg_a")); err != nil || legacy || p != "whsec_one" {
		t.Fatalf("OpenFor own row = %q, legacy %v, %v", p, legacy, err)
	}
	if _, _, err := s.OpenFor(v, TriggerSecret("trg_b")); err == nil {
		t.Fatal("a secret copied to another trigger opened")
	}
	if _, _, err := s.OpenFor(v, SMTPPassword); err == nil {
		t.Fatal("a trigger secret opened as the SMTP password")
	}
}

func TestOldValuesOpenAsLegacyAndUpgrade(t *testing.T) {
	s, _ := New(NewKey())
	old := s.Seal("smtp-pass") // unbound, as written before rows were bound
	p, legacy, err := s.OpenFor(old, SMTPPassword)
	if err != nil || !legacy || p != "smtp-pass" {
		t.Fatalf("OpenFor(unbound) = %q, legacy %v, %v", p, legacy, err)
	}
	up, changed, err := s.Upgrade(old, SMTPPassword)
	if err != nil || !changed {
		t.Fatalf("Upgrade = changed %v, %v", changed, err)
	}
	if p, legacy, err := s.OpenFor(up, SMTPPassword); err != nil || legacy || p != "smtp-pass" {
		t.Fatalf("upgraded value = %q, legacy %v, %v", p, legacy, err)
	}
	if _, changed, _ := s.Upgrade(up, SMTPPassword); changed {
		t.Fatal("an already bound value was resealed")
	}
}

// A passphrase goes through scrypt now; values sealed under the SHA-256 key
// an older release derived from the same passphrase still open (as legacy).
func TestPassphraseKeyIsStretchedAndOldValuesStillOpen(t *testing.T) {
	const pass = "correct horse battery staple"
	s, err := New(pass)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(pass))
	oldAEAD, _ := gcm(sum[:])
	if s.aead.Seal(nil, make([]byte, 12), []byte("x"), nil)[0] == oldAEAD.Seal(nil, make([]byte, 12), []byte("x"), nil)[0] &&
		string(s.aead.Seal(nil, make([]byte, 12), []byte("xyz"), nil)) == string(oldAEAD.Seal(nil, make([]byte, 12), []byte("xyz"), nil)) {
		t.Fatal("the passphrase key is still plain SHA-256")
	}
	nonce := make([]byte, 12)
	old := oldAEAD.Seal(append([]byte(nil), nonce...), nonce, []byte("printer-token"), nil)
	p, legacy, err := s.OpenFor(old, PrinterHeaders("prn_1"))
	if err != nil || !legacy || p != "printer-token" {
		t.Fatalf("value sealed under the old passphrase key = %q, legacy %v, %v", p, legacy, err)
	}
	// A raw 32-byte key is used as is, with no second key to try.
	raw, _ := New(NewKey())
	if raw.legacy != nil {
		t.Fatal("a full-entropy key got a legacy SHA-256 key")
	}
}
