package server

import (
	"crypto/rand"
	"net/http"
	"time"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
)

// createdKey is the only answer that ever shows a key and its secret.
type createdKey struct {
	*llmservice.Key
	KeyText string `json:"key"`
	Secret  string `json:"secret"`
}

func (s *Server) createKey(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		TeamID    string     `json:"team_id"`
		Name      string     `json:"name"`
		Models    []string   `json:"models"`
		ExpiresAt *time.Time `json:"expires_at"`
	}
	if err := httpx.DecodeJSON(w, r, s.cfg.BodyLimit, &in); err != nil {
		return err
	}
	if in.TeamID == "" {
		return llmservice.InvalidParam("team_id", "team_id is required")
	}
	now := s.now().UTC()
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		return llmservice.InvalidParam("expires_at", "expires_at must be in the future")
	}
	key := "sk-" + rand.Text() + rand.Text()[:6]
	secret := "sks-" + rand.Text() + rand.Text()[:6]
	k := &llmservice.Key{
		ID:         gateway.NewID("key_"),
		TeamID:     in.TeamID,
		Name:       in.Name,
		Prefix:     key[:7],
		KeyHash:    llmservice.HashSecret(key),
		SecretHash: llmservice.HashSecret(secret),
		Models:     in.Models,
		ExpiresAt:  in.ExpiresAt,
		CreatedAt:  now,
	}
	if err := s.cfg.Stores.Keys.CreateKey(r.Context(), k); err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusCreated, createdKey{Key: k, KeyText: key, Secret: secret})
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) error {
	ks, err := s.cfg.Stores.Keys.FindKeys(r.Context(), llmservice.KeyFilter{TeamID: r.URL.Query().Get("team_id")})
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, newList(ks))
}

func (s *Server) getKey(w http.ResponseWriter, r *http.Request) error {
	k, err := s.cfg.Stores.Keys.FindKeyByID(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, k)
}

func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	k, err := s.cfg.Stores.Keys.FindKeyByID(r.Context(), id)
	if err != nil {
		return err
	}
	if err := s.cfg.Stores.Keys.RevokeKey(r.Context(), id, s.now().UTC()); err != nil {
		return err
	}
	s.cfg.Gateway.InvalidateKey(k.KeyHash)
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"id": id, "revoked": true})
}
