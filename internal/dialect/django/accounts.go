package django

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
)

// hash runs fn while holding one of the hashing slots.
func (h *Handler) hash(ctx context.Context, fn func()) error {
	select {
	case h.hashing <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-h.hashing }()
	fn()
	return nil
}

// signup creates the user, its personal team and its key. DRF's
// CreateAPIView answers 201, and so does this.
func (h *Handler) signup(w http.ResponseWriter, r *http.Request) error {
	fields, err := readFields(w, r, h.BodyLimit)
	if err != nil {
		return err
	}
	c, err := decodeCredentials(fields, true)
	if err != nil {
		return err
	}
	// Refuse a taken username before paying for a hash; the store checks
	// again inside its transaction.
	if _, err := h.Users.FindDjangoUserByUsername(r.Context(), c.Username); err == nil {
		return fieldError("username", "A user with that username already exists.")
	} else if llmservice.ErrorKind(err) != llmservice.NotFound {
		return err
	}
	if problems := passwordProblems(c.Username, c.Password); len(problems) > 0 {
		errs := newFieldErrors()
		for _, m := range problems {
			errs.add("password", m)
		}
		return errs.err()
	}
	var hashed string
	if err := h.hash(r.Context(), func() { hashed = hashPassword(c.Password) }); err != nil {
		return err
	}
	now := h.now().UTC()
	team := teamID(c.Username)
	for attempt := 0; ; attempt++ {
		u := &llmservice.DjangoUser{Username: c.Username, PasswordHash: hashed, CreatedAt: now}
		t := &llmservice.Team{ID: team, Name: c.Username, CreatedAt: now}
		// The key's plaintext is thrown away at once: only its hash is
		// stored, and tokens name the key by ID.
		k := &llmservice.Key{ID: gateway.NewID("key_"), Name: "django user " + c.Username,
			KeyHash: llmservice.HashSecret("sk-django-" + rand.Text()), CreatedAt: now}
		err := h.Users.CreateDjangoUser(r.Context(), u, t, k)
		var e *llmservice.Error
		if errors.As(err, &e) && e.Kind == llmservice.Conflict {
			switch {
			case e.Param == "username":
				return fieldError("username", e.Message)
			case e.Param == "team_id" && attempt < 5:
				team = withSuffix(teamID(c.Username), strings.ToLower(rand.Text()[:6]))
				continue
			}
		}
		if err != nil {
			return err
		}
		h.Log.Info("django user created", "user_id", u.ID, "team", u.TeamID)
		return httpx.WriteJSON(w, http.StatusCreated, map[string]string{"message": msgUserCreated})
	}
}

// maxTeamID is the admin API's limit on team IDs.
const maxTeamID = 64

// teamID derives a personal team's ID from a username: "user-" and the
// username with every character the admin API does not allow in team IDs
// (anything but ASCII letters, digits, '.', '_' and '-') replaced by '-',
// cut to 64 characters.
func teamID(username string) string {
	var b strings.Builder
	b.WriteString("user-")
	for _, r := range username {
		switch {
		case r < 128 && (r == '.' || r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'):
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
		if b.Len() >= maxTeamID {
			break
		}
	}
	return b.String()[:min(b.Len(), maxTeamID)]
}

// withSuffix appends "-suffix" to id, cutting id so the whole fits.
func withSuffix(id, suffix string) string {
	return id[:min(len(id), maxTeamID-len(suffix)-1)] + "-" + suffix
}

// token is simplejwt's TokenObtainPairView.
func (h *Handler) token(w http.ResponseWriter, r *http.Request) error {
	fields, err := readFields(w, r, h.BodyLimit)
	if err != nil {
		return err
	}
	c, err := decodeCredentials(fields, false)
	if err != nil {
		return err
	}
	who := "user:" + strings.ToLower(c.Username)
	if h.Throttle != nil {
		if d := h.Throttle.Blocked(who); d > 0 {
			secs := int((d + time.Second - 1) / time.Second)
			return &llmservice.Error{Kind: llmservice.RateLimited, RetryAfter: d,
				Message: fmt.Sprintf("Request was throttled. Expected available in %d seconds.", secs)}
		}
	}
	u, err := h.login(r.Context(), c)
	if err != nil {
		if h.Throttle != nil && llmservice.ErrorKind(err) == llmservice.Unauthenticated {
			h.Throttle.Fail(who)
		}
		return err
	}
	access, err := h.Tokens.Access(u)
	if err != nil {
		return err
	}
	refresh, err := h.Tokens.Refresh(u)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]string{"access": access, "refresh": refresh})
}

// noAccount is simplejwt's answer to every failed login, whatever failed.
func noAccount() error {
	return &llmservice.Error{Kind: llmservice.Unauthenticated, Code: "no_active_account", Message: msgNoAccount}
}

// login checks the credentials. An unknown username costs a hash too, so
// that timing does not reveal which usernames exist.
func (h *Handler) login(ctx context.Context, c credentials) (*llmservice.DjangoUser, error) {
	u, err := h.Users.FindDjangoUserByUsername(ctx, c.Username)
	if err != nil && llmservice.ErrorKind(err) != llmservice.NotFound {
		return nil, err
	}
	encoded := dummyHash()
	if u != nil {
		encoded = u.PasswordHash
	}
	var match bool
	var cerr error
	if err := h.hash(ctx, func() { match, cerr = checkPassword(c.Password, encoded) }); err != nil {
		return nil, err
	}
	if cerr != nil && u != nil {
		return nil, &llmservice.Error{Kind: llmservice.Internal, Message: "internal error",
			Err: fmt.Errorf("password hash of django user %d: %w", u.ID, cerr)}
	}
	if u == nil || !match {
		return nil, noAccount()
	}
	if err := h.active(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// active refuses a user whose key an admin revoked or let expire: Django's
// is_active, as far as llmservice has one.
func (h *Handler) active(ctx context.Context, u *llmservice.DjangoUser) error {
	k, err := h.Keys.FindKeyByID(ctx, u.KeyID)
	if llmservice.ErrorKind(err) == llmservice.NotFound || (err == nil && !k.Active(h.now())) {
		return noAccount()
	}
	return err
}

// refresh is simplejwt's TokenRefreshView (without rotation, its default).
func (h *Handler) refresh(w http.ResponseWriter, r *http.Request) error {
	fields, err := readFields(w, r, h.BodyLimit)
	if err != nil {
		return err
	}
	errs := newFieldErrors()
	tok, ok := stringField(fields, "refresh", true, errs)
	if !ok {
		return errs.err()
	}
	id, err := h.Tokens.ParseRefresh(tok)
	if err != nil {
		// The refresh view reports the message alone, not the token class.
		return &llmservice.Error{Kind: llmservice.Unauthenticated, Code: codeTokenInvalid, Message: msgInvalid}
	}
	u, err := h.Users.FindDjangoUserByID(r.Context(), id)
	if llmservice.ErrorKind(err) == llmservice.NotFound {
		return &llmservice.Error{Kind: llmservice.Unauthenticated, Code: "no_active_account", Message: msgNoAccountTok}
	}
	if err != nil {
		return err
	}
	if err := h.active(r.Context(), u); err != nil {
		if llmservice.ErrorKind(err) == llmservice.Unauthenticated {
			return &llmservice.Error{Kind: llmservice.Unauthenticated, Code: "no_active_account", Message: msgNoAccountTok}
		}
		return err
	}
	access, err := h.Tokens.Access(u)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]string{"access": access})
}
