package server

import (
	"crypto/rand"
	"net/http"

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
		TeamID string `json:"team_id"`
		keyPatch
	}
	if err := httpx.DecodeStrictJSON(w, r, s.cfg.BodyLimit, &in); err != nil {
		return err
	}
	if in.TeamID == "" {
		return llmservice.InvalidParam("team_id", "team_id is required")
	}
	now := s.now().UTC()
	key := "sk-" + rand.Text() + rand.Text()[:6]
	secret := "sks-" + rand.Text() + rand.Text()[:6]
	k := &llmservice.Key{
		ID:         gateway.NewID("key_"),
		TeamID:     in.TeamID,
		Prefix:     key[:7],
		KeyHash:    llmservice.HashSecret(key),
		SecretHash: llmservice.HashSecret(secret),
		CreatedAt:  now,
	}
	if err := in.keyPatch.apply(k, now); err != nil {
		return err
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

func (s *Server) updateKey(w http.ResponseWriter, r *http.Request) error {
	var in keyPatch
	if err := httpx.DecodeStrictJSON(w, r, s.cfg.BodyLimit, &in); err != nil {
		return err
	}
	now := s.now().UTC()
	k, err := s.cfg.Stores.Keys.UpdateKey(r.Context(), r.PathValue("id"), func(k *llmservice.Key) error { return in.apply(k, now) })
	if err != nil {
		return err
	}
	s.cfg.Gateway.InvalidateKey(k.KeyHash)
	return httpx.WriteJSON(w, http.StatusOK, k)
}
