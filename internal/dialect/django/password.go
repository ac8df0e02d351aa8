package django

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: OWASP's minimum recommendation (19 MiB, 2 passes, 1
// lane). The parameters travel inside each hash, so raising them later only
// affects new passwords. argon2id rather than bcrypt because bcrypt silently
// ignores everything past 72 bytes of a password.
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// hashPrefix is Django's Argon2PasswordHasher algorithm name; the rest is
// the PHC string argon2-cffi writes, so hashes have Django's own format.
const hashPrefix = "argon2$argon2id$"

var b64 = base64.RawStdEncoding

// hashPassword returns "argon2$argon2id$v=19$m=...,t=...,p=...$salt$hash".
func hashPassword(password string) string {
	salt := make([]byte, argonSaltLen)
	_, _ = rand.Read(salt)
	sum := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("%sv=%d$m=%d,t=%d,p=%d$%s$%s", hashPrefix, argon2.Version,
		argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(sum))
}

var errBadHash = errors.New("unrecognised password hash")

// checkPassword reports whether password matches encoded, in constant time.
func checkPassword(password, encoded string) (bool, error) {
	rest, ok := strings.CutPrefix(encoded, hashPrefix)
	if !ok {
		return false, errBadHash
	}
	parts := strings.Split(rest, "$")
	if len(parts) != 4 {
		return false, errBadHash
	}
	var version int
	var memory, passes uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[0], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errBadHash
	}
	if _, err := fmt.Sscanf(parts[1], "m=%d,t=%d,p=%d", &memory, &passes, &threads); err != nil ||
		memory == 0 || passes == 0 || threads == 0 || memory > 1<<22 || passes > 64 {
		return false, errBadHash
	}
	salt, err := b64.DecodeString(parts[2])
	if err != nil {
		return false, errBadHash
	}
	want, err := b64.DecodeString(parts[3])
	if err != nil || len(want) == 0 || len(want) > 128 {
		return false, errBadHash
	}
	got := argon2.IDKey([]byte(password), salt, passes, memory, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummyHash is checked against when a username does not exist, so that a
// login for an unknown user takes as long as one with a wrong password and
// the timing does not tell which usernames exist.
var dummyHash = sync.OnceValue(func() string { return hashPassword("llmservice dummy password") })
