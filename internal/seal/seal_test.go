package seal

import "testing"

func TestSealRoundTripAndWrongKey(t *testing.T) {
	a, err := New(NewKey())
	if err != nil {
		t.Fatal(err)
	}
	sealed := a.Seal("whsec_c2VjcmV0")
	if string(sealed) == "whsec_c2VjcmV0" {
		t.Fatal("sealed value equals the plain text")
	}
	got, err := a.Open(sealed)
	if err != nil || got != "whsec_c2VjcmV0" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	b, _ := New(NewKey())
	if _, err := b.Open(sealed); err == nil {
		t.Fatal("a different key opened the secret")
	}
	if _, err := New("short"); err == nil {
		t.Fatal("a 5-character key was accepted")
	}
}
