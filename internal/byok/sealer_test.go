package byok

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mustSealer(t testing.TB, b byte) *Sealer {
	t.Helper()
	s, err := NewSealer(bytes.Repeat([]byte{b}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealOpen(t *testing.T) {
	s := mustSealer(t, 1)
	plain := []byte("sk-live-secret-key")
	sealed, err := s.Seal(plain, []byte("team-a/openai"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, plain) {
		t.Fatal("sealed value contains the plaintext")
	}
	again, _ := s.Seal(plain, []byte("team-a/openai"))
	if bytes.Equal(sealed, again) {
		t.Error("two seals of one value are equal; the nonce must differ")
	}
	got, err := s.Open(sealed, []byte("team-a/openai"))
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Open = %q, %v; want %q", got, err, plain)
	}

	tampered := append([]byte(nil), sealed...)
	tampered[len(tampered)-1] ^= 1
	for _, tc := range []struct {
		name   string
		s      *Sealer
		sealed []byte
		aad    string
	}{
		{"OtherTeam", s, sealed, "team-b/openai"},
		{"OtherKey", mustSealer(t, 2), sealed, "team-a/openai"},
		{"Tampered", s, tampered, "team-a/openai"},
		{"Truncated", s, sealed[:10], "team-a/openai"},
		{"Empty", s, nil, "team-a/openai"},
		{"UnknownVersion", s, append([]byte{9}, sealed[1:]...), "team-a/openai"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.s.Open(tc.sealed, []byte(tc.aad)); err == nil {
				t.Error("Open succeeded; want an error")
			}
		})
	}
}

func TestNewSealerKeySize(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := NewSealer(make([]byte, n)); err == nil {
			t.Errorf("NewSealer(%d bytes) succeeded; want an error", n)
		}
	}
}

func TestLoadKeyFromEnv(t *testing.T) {
	raw := bytes.Repeat([]byte{7}, KeySize)
	for _, tc := range []struct {
		name, env string
		ok        bool
	}{
		{"Std", base64.StdEncoding.EncodeToString(raw), true},
		{"RawStd", base64.RawStdEncoding.EncodeToString(raw), true},
		{"URL", base64.URLEncoding.EncodeToString(raw), true},
		{"Spaces", "  " + base64.StdEncoding.EncodeToString(raw) + "\n", true},
		{"Short", base64.StdEncoding.EncodeToString(raw[:16]), false},
		{"NotBase64", "not a key!", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			key, path, generated, err := LoadKey(tc.env, dir)
			if !tc.ok {
				if err == nil {
					t.Fatal("LoadKey succeeded; want an error")
				}
				return
			}
			if err != nil || !bytes.Equal(key, raw) || generated || path != "" {
				t.Fatalf("LoadKey = %x, %q, %v, %v; want the env key, not generated", key, path, generated, err)
			}
			if _, err := os.Stat(filepath.Join(dir, KeyFileName)); !os.IsNotExist(err) {
				t.Error("a key file was written although the key came from the environment")
			}
		})
	}
}

func TestLoadKeyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	key, path, generated, err := LoadKey("", dir)
	if err != nil || !generated || len(key) != KeySize || path != filepath.Join(dir, KeyFileName) {
		t.Fatalf("first LoadKey = %d bytes, %q, %v, %v; want a generated key in %s", len(key), path, generated, err, dir)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := st.Mode().Perm(); mode != 0o600 {
		t.Errorf("key file mode = %o; want 600", mode)
	}
	again, _, generated, err := LoadKey("", dir)
	if err != nil || generated || !bytes.Equal(again, key) {
		t.Fatalf("second LoadKey = %x, %v, %v; want the same key, read back", again, generated, err)
	}

	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := LoadKey("", dir); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("LoadKey with a corrupt key file: %v; want an error naming %s", err, path)
	}
}

func TestLoadKeyInMemory(t *testing.T) {
	key, path, generated, err := LoadKey("", "")
	if err != nil || !generated || path != "" || len(key) != KeySize {
		t.Fatalf("LoadKey in memory = %d bytes, %q, %v, %v", len(key), path, generated, err)
	}
}
