// Package byok keeps teams' own provider keys ("bring your own key"): it
// seals them with AES-256-GCM before they reach the store, opens them when a
// call needs them, and hands the gateway a provider adapter built with the
// team's key, cached so that the steady state reads no database.
package byok

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the length of an AES-256 key.
const KeySize = 32

// version prefixes every sealed value, so that a later scheme (another
// cipher, a rotated key) can tell old values apart.
const version = 1

// Sealer seals and opens small secrets with one AES-256-GCM key.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer returns a Sealer for a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("encryption key is %d bytes; want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext. aad binds the result to its place (team and
// provider): a sealed value copied into another team's row will not open.
func (s *Sealer) Seal(plaintext, aad []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out := append([]byte{version}, nonce...)
	return s.aead.Seal(out, nonce, plaintext, aad), nil
}

// errOpen says nothing of why: a wrong key and a tampered value look alike.
var errOpen = errors.New("sealed value cannot be opened with this encryption key")

// Open decrypts a value made by Seal with the same aad.
func (s *Sealer) Open(sealed, aad []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < 1+n+s.aead.Overhead() || sealed[0] != version {
		return nil, errOpen
	}
	pt, err := s.aead.Open(nil, sealed[1:1+n], sealed[1+n:], aad)
	if err != nil {
		return nil, errOpen
	}
	return pt, nil
}

// KeyFileName is the file a generated encryption key is kept in, next to the
// SQLite database: never in the database itself, so a copy of the database
// alone does not give the keys away.
const KeyFileName = "encryption.key"

// LoadKey returns the encryption key: env (base64 of 32 bytes) when set,
// else the key file in dir, which is created with a new random key (mode
// 0600) when it does not exist yet; generated reports that. dir "" (an
// in-memory database) gets a key that lives as long as the process.
func LoadKey(env, dir string) (key []byte, path string, generated bool, err error) {
	if env != "" {
		key, err = decodeKey(env)
		if err != nil {
			return nil, "", false, fmt.Errorf("LLMSERVICE_ENCRYPTION_KEY: %w", err)
		}
		return key, "", false, nil
	}
	key = make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, "", false, err
	}
	if dir == "" {
		return key, "", true, nil
	}
	path = filepath.Join(dir, KeyFileName)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, "", false, err
	}
	// O_EXCL: of two processes starting at once on one database, one writes
	// the file and the other reads it, so both seal with the same key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, "", false, err
		}
		key, err = decodeKey(string(b))
		if err != nil {
			return nil, "", false, fmt.Errorf("%s: %w", path, err)
		}
		return key, path, false, nil
	}
	if err != nil {
		return nil, "", false, err
	}
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return nil, "", false, err
	}
	return key, path, true, nil
}

// decodeKey reads base64 in any of its usual spellings (standard or URL
// alphabet, padded or not), as `openssl rand -base64 32` and others print it.
func decodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != KeySize {
				return nil, fmt.Errorf("key is %d bytes; want base64 of %d bytes", len(b), KeySize)
			}
			return b, nil
		}
	}
	return nil, errors.New("not base64; want base64 of 32 random bytes (openssl rand -base64 32)")
}
