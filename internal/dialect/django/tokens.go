package django

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/llmservice/llmservice"
)

// simplejwt's defaults (ACCESS_TOKEN_LIFETIME, REFRESH_TOKEN_LIFETIME).
const (
	DefaultAccessTTL  = 5 * time.Minute
	DefaultRefreshTTL = 24 * time.Hour
)

// Token types, the token_type claim: an access token authenticates calls,
// a refresh token only buys new access tokens.
const (
	typeAccess  = "access"
	typeRefresh = "refresh"
)

// claims are simplejwt's (token_type, exp, iat, jti, user_id) plus key_id,
// the key an access token stands for, so that verifying one reads nothing.
type claims struct {
	TokenType string `json:"token_type"`
	jwt.RegisteredClaims
	UserID int64  `json:"user_id"`
	KeyID  string `json:"key_id,omitempty"`
}

// header is PyJWT's header, byte for byte: typ before alg, as in the seed's
// sample tokens ("eyJ0eXAiOiJKV1QiLCJhbGci..."). golang-jwt would sort them.
var header = base64.RawURLEncoding.EncodeToString([]byte(`{"typ":"JWT","alg":"HS256"}`))

// Tokens issues and checks HS256 JWTs the way djangorestframework-simplejwt
// does. It implements gateway.TokenVerifier.
type Tokens struct {
	Secret     []byte
	AccessTTL  time.Duration // DefaultAccessTTL when zero
	RefreshTTL time.Duration // DefaultRefreshTTL when zero
	Now        func() time.Time
}

func (t *Tokens) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

func (t *Tokens) sign(c *claims, ttl time.Duration) (string, error) {
	now := t.now()
	c.IssuedAt = jwt.NewNumericDate(now)
	c.ExpiresAt = jwt.NewNumericDate(now.Add(ttl))
	var jti [16]byte
	_, _ = rand.Read(jti[:])
	c.ID = hex.EncodeToString(jti[:])
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	s := header + "." + base64.RawURLEncoding.EncodeToString(payload)
	sig, err := jwt.SigningMethodHS256.Sign(s, t.Secret)
	if err != nil {
		return "", err
	}
	return s + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// Access issues an access token for u, standing for u's key.
func (t *Tokens) Access(u *llmservice.DjangoUser) (string, error) {
	return t.sign(&claims{TokenType: typeAccess, UserID: u.ID, KeyID: u.KeyID}, orTTL(t.AccessTTL, DefaultAccessTTL))
}

// Refresh issues a refresh token for u.
func (t *Tokens) Refresh(u *llmservice.DjangoUser) (string, error) {
	return t.sign(&claims{TokenType: typeRefresh, UserID: u.ID}, orTTL(t.RefreshTTL, DefaultRefreshTTL))
}

func orTTL(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// simplejwt's messages (rest_framework_simplejwt/tokens.py).
const (
	msgInvalid   = "Token is invalid or expired"
	msgWrongType = "Token has wrong type"
)

// tokenError is the Unauthenticated error of a bad token; Code is
// simplejwt's token_not_valid.
func tokenError(msg string, err error) *llmservice.Error {
	return &llmservice.Error{Kind: llmservice.Unauthenticated, Code: "token_not_valid", Message: msg, Err: err}
}

// parse checks a token's signature, expiry and type.
func (t *Tokens) parse(token, wantType string) (*claims, error) {
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return t.Secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(t.now))
	if err != nil {
		return nil, tokenError(msgInvalid, err)
	}
	if c.TokenType != wantType {
		return nil, tokenError(msgWrongType, nil)
	}
	if c.UserID == 0 || (wantType == typeAccess && c.KeyID == "") {
		return nil, tokenError(msgInvalid, errors.New("token lacks user_id or key_id"))
	}
	return &c, nil
}

// ParseRefresh checks a refresh token and returns the user it was issued to.
func (t *Tokens) ParseRefresh(token string) (userID int64, err error) {
	c, err := t.parse(token, typeRefresh)
	if err != nil {
		return 0, err
	}
	return c.UserID, nil
}

// Verify checks an access token and returns the key it stands for. A
// refresh token is refused: it lives a day and must only buy access tokens.
func (t *Tokens) Verify(_ context.Context, token string) (string, error) {
	c, err := t.parse(token, typeAccess)
	if err != nil {
		return "", err
	}
	return c.KeyID, nil
}

// LazyVerifier is a token verifier whose secret is loaded on first use. It
// lets the gateway be built before the secret is read from the database,
// and a failed read is retried on the next call instead of failing startup.
type LazyVerifier struct {
	Load func(ctx context.Context) ([]byte, error)
	Now  func() time.Time // the tokens' clock (time.Now when nil)

	mu     sync.Mutex // serializes loads
	tokens atomic.Pointer[Tokens]
}

// Verify loads the secret if needed and checks token with it.
func (v *LazyVerifier) Verify(ctx context.Context, token string) (string, error) {
	t := v.tokens.Load()
	if t == nil {
		v.mu.Lock()
		if t = v.tokens.Load(); t == nil {
			secret, err := v.Load(ctx)
			if err != nil {
				v.mu.Unlock()
				return "", err
			}
			t = &Tokens{Secret: secret, Now: v.Now}
			v.tokens.Store(t)
		}
		v.mu.Unlock()
	}
	return t.Verify(ctx, token)
}
