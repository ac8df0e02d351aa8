package django

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/llmservice/llmservice"
)

var user = &llmservice.DjangoUser{ID: 7, Username: "u", KeyID: "key_1"}

// wantTokenError fails unless err is simplejwt's token_not_valid with msg.
func wantTokenError(t *testing.T, err error, msg string) {
	t.Helper()
	var e *llmservice.Error
	if !errors.As(err, &e) || e.Kind != llmservice.Unauthenticated || e.Code != "token_not_valid" || e.Message != msg {
		t.Fatalf("err = %v; want Unauthenticated token_not_valid %q", err, msg)
	}
}

func TestTokens(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tk := &Tokens{Secret: testSecret, Now: func() time.Time { return now }}
	access, err := tk.Access(user)
	if err != nil {
		t.Fatal(err)
	}
	refresh, err := tk.Refresh(user)
	if err != nil {
		t.Fatal(err)
	}
	// Signed with another library's idea of the same claims, to pin the
	// token's format: a refresh token, and tokens with another alg.
	forge := func(method jwt.SigningMethod, key any, c jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(method, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	valid := jwt.MapClaims{"token_type": "access", "user_id": 7, "key_id": "key_1", "exp": now.Add(time.Minute).Unix()}

	tests := []struct {
		name  string
		token string
		at    time.Time
		want  string // key ID, or "" for failure
		msg   string
	}{
		{"access", access, now, "key_1", ""},
		{"access just before expiry", access, now.Add(DefaultAccessTTL - time.Second), "key_1", ""},
		{"access expired", access, now.Add(DefaultAccessTTL), "", msgInvalid},
		{"refresh is not access", refresh, now, "", msgWrongType},
		{"tampered", tamper(access), now, "", msgInvalid},
		{"other secret", forge(jwt.SigningMethodHS256, []byte("other"), valid), now, "", msgInvalid},
		{"hs512", forge(jwt.SigningMethodHS512, testSecret, valid), now, "", msgInvalid},
		{"alg none", forge(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid), now, "", msgInvalid},
		{"same claims by golang-jwt", forge(jwt.SigningMethodHS256, testSecret, valid), now, "key_1", ""},
		{"no exp", forge(jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"token_type": "access", "user_id": 7, "key_id": "k"}), now, "", msgInvalid},
		{"no key", forge(jwt.SigningMethodHS256, testSecret, jwt.MapClaims{"token_type": "access", "user_id": 7, "exp": now.Add(time.Minute).Unix()}), now, "", msgInvalid},
		{"garbage", "a.b.c", now, "", msgInvalid},
		{"empty", "", now, "", msgInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &Tokens{Secret: testSecret, Now: func() time.Time { return tt.at }}
			got, err := v.Verify(context.Background(), tt.token)
			if tt.want == "" {
				wantTokenError(t, err, tt.msg)
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Verify = %q, %v; want %q", got, err, tt.want)
			}
		})
	}

	t.Run("refresh", func(t *testing.T) {
		id, err := tk.ParseRefresh(refresh)
		if err != nil || id != 7 {
			t.Fatalf("ParseRefresh = %d, %v; want 7", id, err)
		}
		_, err = tk.ParseRefresh(access)
		wantTokenError(t, err, msgWrongType)
		late := &Tokens{Secret: testSecret, Now: func() time.Time { return now.Add(DefaultRefreshTTL) }}
		_, err = late.ParseRefresh(refresh)
		wantTokenError(t, err, msgInvalid)
	})

	t.Run("claims", func(t *testing.T) {
		payload, err := base64.RawURLEncoding.DecodeString(strings.Split(access, ".")[1])
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{`"token_type":"access"`, `"user_id":7`, `"key_id":"key_1"`, `"exp":1700000300`, `"iat":1700000000`, `"jti":"`} {
			if !strings.Contains(string(payload), want) {
				t.Errorf("payload %s lacks %s", payload, want)
			}
		}
	})
}

func TestTokenTTLs(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tk := &Tokens{Secret: testSecret, AccessTTL: time.Hour, RefreshTTL: 2 * time.Hour, Now: func() time.Time { return now }}
	access, _ := tk.Access(user)
	refresh, _ := tk.Refresh(user)
	at := &Tokens{Secret: testSecret, Now: func() time.Time { return now.Add(90 * time.Minute) }}
	if _, err := at.Verify(context.Background(), access); err == nil {
		t.Error("a one-hour access token still works after 90 minutes")
	}
	if _, err := at.ParseRefresh(refresh); err != nil {
		t.Errorf("a two-hour refresh token fails after 90 minutes: %v", err)
	}
}

func TestLazyVerifier(t *testing.T) {
	access, _ := (&Tokens{Secret: testSecret}).Access(user)
	loads := 0
	fail := true
	v := &LazyVerifier{Load: func(context.Context) ([]byte, error) {
		loads++
		if fail {
			return nil, errors.New("database is down")
		}
		return testSecret, nil
	}}
	if _, err := v.Verify(context.Background(), access); err == nil {
		t.Fatal("Verify succeeded without a secret")
	}
	fail = false
	for range 3 {
		if id, err := v.Verify(context.Background(), access); err != nil || id != "key_1" {
			t.Fatalf("Verify = %q, %v", id, err)
		}
	}
	if loads != 2 {
		t.Errorf("secret loaded %d times; want 2 (one failure, then once)", loads)
	}
}

// BenchmarkVerify measures what a JWT costs every authenticated request on
// top of a key lookup.
func BenchmarkVerify(b *testing.B) {
	tk := &Tokens{Secret: testSecret}
	access, _ := tk.Access(user)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tk.Verify(ctx, access); err != nil {
			b.Fatal(err)
		}
	}
}
