package django

import (
	"net/http"
	"slices"
	"testing"
)

func TestPasswordProblems(t *testing.T) {
	const (
		similar = "The password is too similar to the username."
		short   = "This password is too short. It must contain at least 8 characters."
		common  = "This password is too common."
		numeric = "This password is entirely numeric."
	)
	for _, tc := range []struct {
		user, password string
		want           []string
	}{
		{"charming_user", "secure_pwd", nil}, // the seed's example
		{"charming_user", "x", []string{short}},
		{"charming_user", "12345678", []string{common, numeric}},
		{"charming_user", "48213977", []string{numeric}},
		{"charming_user", "1234", []string{short, common, numeric}},
		{"charming_user", "Password", []string{common}},
		{"charming_user", " password ", []string{common}},
		{"charming_user", "charming_user1", []string{similar}},
		{"charming_user", "charming", []string{similar}}, // a part of the username
		{"jane.doe@example.com", "example1", []string{similar}},
		{"bob", "a-very-long-passphrase-bob", nil}, // far longer than the name
		{"alice", "Tr0ubadour-alice-horse", nil},
	} {
		if got := passwordProblems(tc.user, tc.password); !slices.Equal(got, tc.want) {
			t.Errorf("passwordProblems(%q, %q) = %q; want %q", tc.user, tc.password, got, tc.want)
		}
	}
}

func TestQuickRatio(t *testing.T) {
	// Values from Python: difflib.SequenceMatcher(a=..., b=...).quick_ratio()
	for _, tc := range []struct {
		a, b string
		want float64
	}{
		{"abcd", "bcde", 0.75},
		{"password", "username", 0.375},
		{"", "", 1},
	} {
		if got := quickRatio(tc.a, tc.b); got != tc.want {
			t.Errorf("quickRatio(%q, %q) = %v; want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// Signup refuses a weak password with Django's messages, all of them, and
// creates nobody.
func TestSignupRefusesWeakPasswords(t *testing.T) {
	e := newTestEnv(t)
	for _, tc := range []struct{ body, want string }{
		{`{"username":"weak","password":"1"}`,
			`{"password":["This password is too short. It must contain at least 8 characters.","This password is entirely numeric."]}`},
		{`{"username":"weak","password":"password"}`, `{"password":["This password is too common."]}`},
		{`{"username":"weakling","password":"weakling"}`, `{"password":["The password is too similar to the username."]}`},
	} {
		wantBody(t, e.send("POST", "/api/signup/", tc.body, nil), http.StatusBadRequest, tc.want)
	}
	if len(e.store.users) != 0 {
		t.Errorf("%d users created; want none", len(e.store.users))
	}
	wantBody(t, e.send("POST", "/api/signup/", `{"username":"weak","password":"secure_pwd"}`, nil), http.StatusCreated,
		`{"message":"User created successfully"}`)
}
