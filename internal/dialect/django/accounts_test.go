package django

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func mustJSON(t testing.TB, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
}

// wantBody compares a response with a status and an exact JSON body.
func wantBody(t *testing.T, w interface {
	Result() *http.Response
}, status int, body string) {
	t.Helper()
	resp := w.Result()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if got := strings.TrimSpace(string(b)); resp.StatusCode != status || got != body {
		t.Errorf("got %d %s\nwant %d %s", resp.StatusCode, got, status, body)
	}
}

func TestSignupTokenRefresh(t *testing.T) {
	e := newTestEnv(t)
	signup := `{"username": "charming_user", "password": "secure_pwd"}`
	w := e.send("POST", "/api/signup/", signup, nil)
	wantBody(t, w, http.StatusCreated, `{"message":"User created successfully"}`)

	w = e.send("POST", "/api/token/", signup, nil)
	if w.Code != http.StatusOK {
		t.Fatalf("token: %d %s", w.Code, w.Body)
	}
	var pair struct{ Access, Refresh string }
	mustJSON(t, w.Body.Bytes(), &pair)
	for name, tok := range map[string]string{"access": pair.Access, "refresh": pair.Refresh} {
		// The seed's sample tokens start with PyJWT's header.
		if !strings.HasPrefix(tok, "eyJ0eXAiOiJKV1QiLCJhbGci") {
			t.Errorf("%s token %q does not start like the seed's", name, tok)
		}
	}
	keyID, err := e.h.Tokens.Verify(t.Context(), pair.Access)
	if err != nil {
		t.Fatalf("Verify(access): %v", err)
	}
	if keyID != e.store.users[0].KeyID {
		t.Errorf("access token stands for key %q; want the user's key %q", keyID, e.store.users[0].KeyID)
	}
	if e.store.users[0].TeamID != "user-charming_user" {
		t.Errorf("team = %q; want user-charming_user", e.store.users[0].TeamID)
	}
	if strings.Contains(e.store.users[0].PasswordHash, "secure_pwd") || !strings.HasPrefix(e.store.users[0].PasswordHash, "argon2$argon2id$") {
		t.Errorf("password stored as %q; want an argon2id hash", e.store.users[0].PasswordHash)
	}

	w = e.send("POST", "/api/token/refresh/", `{"refresh":"`+pair.Refresh+`"}`, nil)
	if w.Code != http.StatusOK {
		t.Fatalf("refresh: %d %s", w.Code, w.Body)
	}
	var fresh map[string]string
	mustJSON(t, w.Body.Bytes(), &fresh)
	if len(fresh) != 1 || fresh["access"] == "" {
		t.Fatalf("refresh answered %v; want only a new access token", fresh)
	}
	if _, err := e.h.Tokens.Verify(t.Context(), fresh["access"]); err != nil {
		t.Errorf("refreshed access token: %v", err)
	}
}

func TestAccountErrors(t *testing.T) {
	e := newTestEnv(t)
	_, refresh := e.login(t, "taken")
	access, _ := e.login(t, "other")
	const noAccount = `{"detail":"No active account found with the given credentials"}`
	const badRefresh = `{"detail":"Token is invalid or expired","code":"token_not_valid"}`
	tests := []struct {
		name, path, body string
		status           int
		want             string
	}{
		{"signup duplicate", "/api/signup/", `{"username":"taken","password":"x"}`, 400, `{"username":["A user with that username already exists."]}`},
		{"signup missing both", "/api/signup/", `{}`, 400, `{"username":["This field is required."],"password":["This field is required."]}`},
		{"signup empty body", "/api/signup/", ``, 400, `{"username":["This field is required."],"password":["This field is required."]}`},
		{"signup missing password", "/api/signup/", `{"username":"u"}`, 400, `{"password":["This field is required."]}`},
		{"signup blank", "/api/signup/", `{"username":"  ","password":""}`, 400, `{"username":["This field may not be blank."],"password":["This field may not be blank."]}`},
		{"signup null", "/api/signup/", `{"username":null,"password":"p"}`, 400, `{"username":["This field may not be null."]}`},
		{"signup not string", "/api/signup/", `{"username":["a"],"password":{"p":1}}`, 400, `{"username":["Not a valid string."],"password":["Not a valid string."]}`},
		{"signup bad username", "/api/signup/", `{"username":"no spaces allowed","password":"p"}`, 400, `{"username":["Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."]}`},
		{"signup long username", "/api/signup/", `{"username":"` + strings.Repeat("a", 151) + `","password":"p"}`, 400, `{"username":["Ensure this field has no more than 150 characters."]}`},
		{"signup list body", "/api/signup/", `[1]`, 400, `{"non_field_errors":["Invalid data. Expected a dictionary, but got list."]}`},
		{"signup malformed", "/api/signup/", `{"username":`, 400, `{"detail":"JSON parse error - unexpected EOF"}`},
		{"token wrong password", "/api/token/", `{"username":"taken","password":"nope"}`, 401, noAccount},
		{"token unknown user", "/api/token/", `{"username":"ghost","password":"pw-ghost"}`, 401, noAccount},
		{"token missing", "/api/token/", `{"username":"taken"}`, 400, `{"password":["This field is required."]}`},
		{"refresh missing", "/api/token/refresh/", `{}`, 400, `{"refresh":["This field is required."]}`},
		{"refresh garbage", "/api/token/refresh/", `{"refresh":"abc"}`, 401, badRefresh},
		{"refresh with access", "/api/token/refresh/", `{"refresh":"` + access + `"}`, 401, badRefresh},
		{"refresh tampered", "/api/token/refresh/", `{"refresh":"` + tamper(refresh) + `"}`, 401, badRefresh},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantBody(t, e.send("POST", tt.path, tt.body, nil), tt.status, tt.want)
		})
	}
}

// tamper changes the payload of a JWT without re-signing it.
func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	b := []byte(parts[1])
	if b[2] == 'A' {
		b[2] = 'B'
	} else {
		b[2] = 'A'
	}
	return parts[0] + "." + string(b) + "." + parts[2]
}

func TestSignupFormAndBrowsableOverride(t *testing.T) {
	e := newTestEnv(t)
	tests := []struct{ name, ctype, body string }{
		{"form", "application/x-www-form-urlencoded", "username=formuser&password=Tr0ubadour-horse"},
		{"browsable override", "application/x-www-form-urlencoded", "_content_type=application%2Fjson&_content=%7B%22username%22%3A%22rawuser%22%2C%22password%22%3A%22Tr0ubadour-horse%22%7D"},
		{"curl -d with JSON", "application/x-www-form-urlencoded", `{"username":"curluser","password":"Tr0ubadour-horse"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.send("POST", "/api/signup/", tt.body, map[string]string{"Content-Type": tt.ctype})
			wantBody(t, w, http.StatusCreated, `{"message":"User created successfully"}`)
		})
	}
}

func TestTeamIDs(t *testing.T) {
	tests := []struct{ username, want string }{
		{"charming_user", "user-charming_user"},
		{"a.b-c", "user-a.b-c"},
		{"me@example.com", "user-me-example.com"},
		{"a+b", "user-a-b"},
		{"Zoë", "user-Zo-"},
		{strings.Repeat("x", 150), "user-" + strings.Repeat("x", 59)},
	}
	for _, tt := range tests {
		if got := teamID(tt.username); got != tt.want {
			t.Errorf("teamID(%q) = %q; want %q", tt.username, got, tt.want)
		}
	}
	if got := withSuffix(teamID(strings.Repeat("x", 150)), "abcdef"); len(got) != maxTeamID || !strings.HasSuffix(got, "-abcdef") {
		t.Errorf("withSuffix = %q (%d chars); want 64 chars ending in -abcdef", got, len(got))
	}
}

// Two usernames that map to one team ID both get a team.
func TestSignupTeamCollision(t *testing.T) {
	e := newTestEnv(t)
	for _, name := range []string{"a@b", "a+b"} {
		w := e.send("POST", "/api/signup/", `{"username":"`+name+`","password":"Tr0ubadour-horse"}`, nil)
		wantBody(t, w, http.StatusCreated, `{"message":"User created successfully"}`)
	}
	if a, b := e.store.users[0].TeamID, e.store.users[1].TeamID; a == b || !strings.HasPrefix(b, "user-a-b-") {
		t.Errorf("teams %q and %q; want distinct, the second suffixed", a, b)
	}
}

func TestRevokedKeyCannotLogIn(t *testing.T) {
	e := newTestEnv(t)
	_, refresh := e.login(t, "alice")
	e.store.revoke(e.store.users[0].KeyID)
	wantBody(t, e.send("POST", "/api/token/", `{"username":"alice","password":"Tr0ubadour-alice-horse"}`, nil),
		401, `{"detail":"No active account found with the given credentials"}`)
	wantBody(t, e.send("POST", "/api/token/refresh/", `{"refresh":"`+refresh+`"}`, nil),
		401, `{"detail":"No active account found for the given token."}`)
}
