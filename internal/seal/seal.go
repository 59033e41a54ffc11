// Package seal encrypts secrets at rest (webhook secrets, the SMTP password)
// with AES-256-GCM under a key from the environment.
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
)

// Sealer seals and opens small secrets. The zero value is unusable.
type Sealer struct{ aead cipher.AEAD }

// New derives the AES-256 key from ORDERINTAKE_SECRET_KEY's value: 64 hex
// characters or base64 of 32 bytes are used as is; any other string of at
// least 16 characters is hashed with SHA-256.
func New(key string) (*Sealer, error) {
	raw, err := parseKey(key)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

func parseKey(key string) ([]byte, error) {
	if b, err := hex.DecodeString(key); err == nil && len(b) == 32 {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(key); err == nil && len(b) == 32 {
		return b, nil
	}
	if len(key) < 16 {
		return nil, errors.New("seal: ORDERINTAKE_SECRET_KEY must be at least 16 characters (64 hex characters recommended)")
	}
	sum := sha256.Sum256([]byte(key))
	return sum[:], nil
}

// NewKey returns a fresh random key in hex, for dev data dirs.
func NewKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Seal encrypts plain; the nonce travels in front of the ciphertext.
func (s *Sealer) Seal(plain string) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, []byte(plain), nil)
}

// Open decrypts what Seal produced. A nil input opens to "".
func (s *Sealer) Open(sealed []byte) (string, error) {
	if sealed == nil {
		return "", nil
	}
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return "", errors.New("seal: sealed value too short")
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], nil)
	if err != nil {
		return "", errors.New("seal: cannot open sealed value (wrong ORDERINTAKE_SECRET_KEY?)")
	}
	return string(plain), nil
}
