package django

import (
	"strings"
	"testing"
)

func TestPasswordHash(t *testing.T) {
	long := strings.Repeat("p", 100) // past bcrypt's 72-byte limit
	h := hashPassword(long)
	if !strings.HasPrefix(h, "argon2$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not in Django's argon2 format", h)
	}
	if h == hashPassword(long) {
		t.Error("two hashes of one password are equal; want a fresh salt each time")
	}
	tests := []struct {
		name, password, encoded string
		want                    bool
		bad                     bool
	}{
		{"match", long, h, true, false},
		{"differs past 72 bytes", long + "x", h, false, false},
		{"empty", "", h, false, false},
		{"not argon2", long, "pbkdf2_sha256$1$salt$hash", false, true},
		{"bad version", long, strings.Replace(h, "v=19", "v=16", 1), false, true},
		{"bad params", long, strings.Replace(h, "m=19456", "m=0", 1), false, true},
		{"huge memory", long, strings.Replace(h, "m=19456", "m=99999999", 1), false, true},
		{"too few parts", long, "argon2$argon2id$v=19$m=1,t=1,p=1$salt", false, true},
		{"bad salt", long, "argon2$argon2id$v=19$m=8,t=1,p=1$!!$AAAA", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := checkPassword(tt.password, tt.encoded)
			if got != tt.want || (err != nil) != tt.bad {
				t.Errorf("checkPassword = %v, %v; want %v, error %v", got, err, tt.want, tt.bad)
			}
		})
	}
}

// BenchmarkCheckPassword measures one login's hash.
func BenchmarkCheckPassword(b *testing.B) {
	h := hashPassword("secure_pwd")
	for b.Loop() {
		if ok, _ := checkPassword("secure_pwd", h); !ok {
			b.Fatal("no match")
		}
	}
}
