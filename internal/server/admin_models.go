package server

import (
	"net/http"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/httpx"
)

func (s *Server) upsertModel(w http.ResponseWriter, r *http.Request) error {
	var m llmservice.Model
	if err := httpx.DecodeStrictJSON(w, r, s.cfg.BodyLimit, &m); err != nil {
		return err
	}
	switch {
	case m.Name == "":
		return llmservice.InvalidParam("name", "name is required")
	case m.Provider == "":
		return llmservice.InvalidParam("provider", "provider is required")
	case m.InputPerMTok != nil && *m.InputPerMTok < 0:
		return llmservice.InvalidParam("input_per_mtok", "input_per_mtok must not be negative")
	case m.OutputPerMTok != nil && *m.OutputPerMTok < 0:
		return llmservice.InvalidParam("output_per_mtok", "output_per_mtok must not be negative")
	case m.CacheReadPerMTok != nil && *m.CacheReadPerMTok < 0:
		return llmservice.InvalidParam("cache_read_per_mtok", "cache_read_per_mtok must not be negative")
	case m.CacheWritePerMTok != nil && *m.CacheWritePerMTok < 0:
		return llmservice.InvalidParam("cache_write_per_mtok", "cache_write_per_mtok must not be negative")
	case m.ContextWindow < 0:
		return llmservice.InvalidParam("context_window", "context_window must not be negative")
	}
	if err := checkCachePolicy(m.Cache); err != nil {
		return err
	}
	if err := checkRate("rpm", int64(m.RPM)); err != nil {
		return err
	}
	if err := checkRate("tpm", int64(m.TPM)); err != nil {
		return err
	}
	if _, ok := s.cfg.Gateway.Instance(m.Provider); !ok {
		return llmservice.InvalidParam("provider", "provider '%s' is not configured; configured providers: %v", m.Provider, s.cfg.Gateway.InstanceNames())
	}
	m.CreatedAt = s.now().UTC()
	if err := s.cfg.Stores.Catalog.UpsertModel(r.Context(), &m); err != nil {
		return err
	}
	if err := s.cfg.Gateway.ReloadCatalog(r.Context()); err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusCreated, &m)
}

func (s *Server) listModels(w http.ResponseWriter, r *http.Request) error {
	ms, err := s.cfg.Stores.Catalog.FindModels(r.Context())
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, newList(ms))
}

func (s *Server) deleteModel(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if err := s.cfg.Stores.Catalog.DeleteModel(r.Context(), name); err != nil {
		return err
	}
	if err := s.cfg.Gateway.ReloadCatalog(r.Context()); err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]any{"name": name, "deleted": true})
}
