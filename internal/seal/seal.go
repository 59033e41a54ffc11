// Package seal encrypts secrets at rest (webhook secrets, the SMTP password,
// printer headers) with AES-256-GCM under a key from the environment.
//
// A value is bound to the row it belongs to: SealFor puts the row's name
// (table, column, id) into the AEAD's additional data, so a sealed value
// copied into another row (another trigger, the SMTP password) does not open
// there. Values sealed before that (by Seal, or under the SHA-256 key an older
// release derived from a passphrase) still open through OpenFor, which says
// so: the caller reseals them (store.ResealSecrets does all at start).
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"

	"golang.org/x/crypto/scrypt"
)

// Names of the rows sealed values belong to (the additional data).
const SMTPPassword = "smtp_settings.password_sealed"

// TriggerSecret names a trigger's signing secrets (current and previous:
// a rotation moves the value between the two columns of the same row).
func TriggerSecret(triggerID string) string { return "triggers.secret/" + triggerID }

// PrinterHeaders names a printer's sealed headers.
func PrinterHeaders(printerID string) string { return "printers.headers_sealed/" + printerID }

// boundV1 starts a value sealed by SealFor.
const boundV1 = 0x02

// Sealer seals and opens small secrets. The zero value is unusable.
type Sealer struct {
	aead   cipher.AEAD
	legacy cipher.AEAD // a passphrase's old SHA-256 key; nil for a raw key
}

// passphraseSalt is fixed: there is nowhere to keep a random one that every
// replica shares, and the point of the KDF is to make guessing a passphrase
// from a stolen database slow, which a fixed salt does not undo.
var passphraseSalt = []byte("orderintake/seal/v2")

// New derives the AES-256 key from ORDERINTAKE_SECRET_KEY's value: 64 hex
// characters or base64 of 32 bytes are used as is (full entropy); any other
// string of at least 16 characters is a passphrase and goes through scrypt.
func New(key string) (*Sealer, error) {
	raw, passphrase, err := parseKey(key)
	if err != nil {
		return nil, err
	}
	s := &Sealer{}
	if !passphrase {
		s.aead, err = gcm(raw)
		return s, err
	}
	derived, err := scrypt.Key([]byte(key), passphraseSalt, 1<<15, 8, 1, 32)
	if err != nil {
		return nil, fmt.Errorf("seal: derive key: %w", err)
	}
	if s.aead, err = gcm(derived); err != nil {
		return nil, err
	}
	old := sha256.Sum256([]byte(key))
	s.legacy, err = gcm(old[:])
	return s, err
}

func gcm(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return aead, nil
}

func parseKey(key string) (raw []byte, passphrase bool, err error) {
	if b, err := hex.DecodeString(key); err == nil && len(b) == 32 {
		return b, false, nil
	}
	if b, err := base64.StdEncoding.DecodeString(key); err == nil && len(b) == 32 {
		return b, false, nil
	}
	if len(key) < 16 {
		return nil, false, errors.New("seal: ORDERINTAKE_SECRET_KEY must be at least 16 characters (64 hex characters recommended)")
	}
	return nil, true, nil
}

// NewKey returns a fresh random key in hex, for dev data dirs.
func NewKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// SealFor encrypts plain bound to where (see TriggerSecret, PrinterHeaders,
// SMTPPassword): it opens only with the same where.
func (s *Sealer) SealFor(plain, where string) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	out := append([]byte{boundV1}, nonce...)
	return s.aead.Seal(out, nonce, []byte(plain), []byte(where))
}

// OpenFor decrypts a value of where. legacy is true when it was sealed in an
// older form (unbound, or under a passphrase's old key): reseal it with
// SealFor. A value bound to another row does not open.
func (s *Sealer) OpenFor(sealed []byte, where string) (plain string, legacy bool, err error) {
	if sealed == nil {
		return "", false, nil
	}
	n := s.aead.NonceSize()
	if len(sealed) > 1+n && sealed[0] == boundV1 {
		if p, err := s.aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(where)); err == nil {
			return string(p), false, nil
		}
		// Else maybe an unbound value whose random nonce starts with boundV1.
	}
	for _, a := range []cipher.AEAD{s.aead, s.legacy} {
		if a == nil || len(sealed) < n {
			continue
		}
		if p, err := a.Open(nil, sealed[:n], sealed[n:], nil); err == nil {
			return string(p), true, nil
		}
	}
	return "", false, fmt.Errorf("seal: cannot open the sealed value of %s (wrong ORDERINTAKE_SECRET_KEY, or a value copied from another row?)", where)
}

// Upgrade reseals a value of where that is in an older form; changed is
// false (and out nil) when it is already bound.
func (s *Sealer) Upgrade(sealed []byte, where string) (out []byte, changed bool, err error) {
	plain, legacy, err := s.OpenFor(sealed, where)
	if err != nil || !legacy {
		return nil, false, err
	}
	return s.SealFor(plain, where), true, nil
}

// Seal encrypts plain without binding it to a row.
//
// Deprecated: use SealFor; kept for values written by older code and tests.
func (s *Sealer) Seal(plain string) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, []byte(plain), nil)
}

// Open decrypts what Seal produced (or, for a value of unknown row, any
// older form). A nil input opens to "".
//
// Deprecated: use OpenFor.
func (s *Sealer) Open(sealed []byte) (string, error) {
	plain, _, err := s.OpenFor(sealed, "")
	if err != nil {
		return "", errors.New("seal: cannot open sealed value (wrong ORDERINTAKE_SECRET_KEY?)")
	}
	return plain, nil
}
