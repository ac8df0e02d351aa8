package django

import (
	"net/http"
	"slices"
	"strings"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
	"github.com/llmservice/llmservice/internal/httpx"
)

// Provider is a name ?provider= accepts and the gateway instance that
// serves it. Instance is empty for a documented name (openai, gemini,
// inhouse) that nothing serves on this server.
type Provider struct {
	Name     string
	Instance string
	Family   string
}

// Instance is a configured gateway instance as MapProviders sees it: its
// name and its protocol family (openai, openai-compatible, anthropic,
// gemini, ollama, mock).
type Instance struct {
	Name, Family string
}

// documented are the seed's provider names, always accepted.
var documented = []string{"openai", "gemini", "inhouse"}

// MapProviders names providers after the seed, from instances in
// configuration order: "openai" and "gemini" are the instances of those
// names, or else the first of that family; "inhouse" is an instance named
// inhouse, or else the first ollama instance, or else the first
// openai-compatible one. Every instance is also accepted under its own name
// (the seed's LLM_PROVIDERS is extensible, and this is how a new provider
// is added here), after the documented ones.
func MapProviders(insts []Instance) []Provider {
	pick := func(name string, families ...string) Provider {
		for _, in := range insts {
			if in.Name == name {
				return Provider{Name: name, Instance: in.Name, Family: in.Family}
			}
		}
		for _, f := range families {
			for _, in := range insts {
				if in.Family == f {
					return Provider{Name: name, Instance: in.Name, Family: in.Family}
				}
			}
		}
		return Provider{Name: name}
	}
	out := []Provider{
		pick("openai", "openai"),
		pick("gemini", "gemini"),
		pick("inhouse", "ollama", "openai-compatible"),
	}
	for _, in := range insts {
		if !slices.Contains(documented, in.Name) {
			out = append(out, Provider{Name: in.Name, Instance: in.Name, Family: in.Family})
		}
	}
	return out
}

// provider reads ?provider= (or, failing that, a "provider" field of the
// body, which some clients send) and finds it. Unknown and missing names
// are a 400 that lists what is accepted.
func (h *Handler) provider(r *http.Request, bodyName string) (Provider, error) {
	name := r.URL.Query().Get("provider")
	if name == "" {
		name = bodyName
	}
	var names []string
	for _, p := range h.Providers {
		if p.Name == name && name != "" {
			return p, nil
		}
		names = append(names, p.Name)
	}
	if name == "" {
		return Provider{}, &llmservice.Error{Kind: llmservice.Invalid, Code: codeUnsupported,
			Message: "Missing 'provider' query parameter. Use one of: " + strings.Join(names, ", ")}
	}
	return Provider{}, &llmservice.Error{Kind: llmservice.Invalid, Code: codeUnsupported,
		Message: "Unsupported provider '" + name + "'. Use one of: " + strings.Join(names, ", ")}
}

// unavailable is the error of a documented provider nothing serves.
func unavailable(p Provider) error {
	return &llmservice.Error{Kind: llmservice.Unavailable, Code: "provider_not_configured",
		Message: "Provider '" + p.Name + "' is not configured on this server."}
}

// wellKnown are listed by supported-models for a provider whose instance
// advertises no models and has no catalog entries: the current chat models
// of each vendor, so that a fresh server still answers something useful.
var wellKnown = map[string][]string{
	"openai":    {"gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-4o", "gpt-4o-mini", "o3", "o3-mini", "o4-mini", "gpt-3.5-turbo"},
	"gemini":    {"gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-2.0-flash", "gemini-1.5-pro", "gemini-1.5-flash"},
	"anthropic": {"claude-sonnet-4-0", "claude-opus-4-0", "claude-3-7-sonnet-latest", "claude-3-5-haiku-latest"},
}

// supportedModels lists the models of a provider the caller may use: the
// catalog entries served by its instance and the models the instance
// advertises (without the "instance/" prefix), or the well-known ones of
// its family when there are none.
func (h *Handler) supportedModels(w http.ResponseWriter, r *http.Request) error {
	p, err := h.authenticate(r)
	if err != nil {
		return err
	}
	prov, err := h.provider(r, "")
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string][]string{"models": h.modelsOf(p, prov)})
}

func (h *Handler) modelsOf(p *gateway.Principal, prov Provider) []string {
	out := []string{}
	if prov.Instance == "" {
		return out
	}
	prefix := prov.Instance + "/"
	for _, m := range h.GW.Models(p) {
		if m.OwnedBy == prov.Instance {
			out = append(out, strings.TrimPrefix(m.ID, prefix))
		}
	}
	if len(out) > 0 {
		return out
	}
	for _, m := range wellKnown[prov.Family] {
		if permits(p.Team.Models, prefix+m) && permits(p.Key.Models, prefix+m) {
			out = append(out, m)
		}
	}
	return out
}

// permits applies an allowlist as the gateway does: empty allows all, and
// "*" and "prefix/*" are wildcards.
func permits(list []string, model string) bool {
	if len(list) == 0 {
		return true
	}
	for _, m := range list {
		if m == model || m == "*" || (strings.HasSuffix(m, "/*") && strings.HasPrefix(model, m[:len(m)-1])) {
			return true
		}
	}
	return false
}

// publicModel is the name the gateway resolves for model within prov: a
// catalog entry that prov's instance serves keeps its name (and its prices
// and limits); anything else is the upstream model id on that instance.
func (h *Handler) publicModel(prov Provider, model string) string {
	if e, ok := h.GW.CatalogEntries()[model]; ok && servedBy(e, prov.Instance) {
		return model
	}
	if strings.HasPrefix(model, prov.Instance+"/") {
		return model
	}
	return prov.Instance + "/" + model
}

func servedBy(e *llmservice.Model, instance string) bool {
	if e.Provider == instance {
		return true
	}
	for _, d := range e.Deployments {
		if d.Provider == instance {
			return true
		}
	}
	return false
}

// authenticate reads the bearer credential as DRF's JWTAuthentication
// does. A key works too: Authenticate takes both.
func (h *Handler) authenticate(r *http.Request) (*gateway.Principal, error) {
	tok := httpx.BearerToken(r)
	if tok == "" {
		return nil, &llmservice.Error{Kind: llmservice.Unauthenticated, Message: msgNoCredentials}
	}
	p, err := h.GW.Authenticate(r.Context(), tok)
	if err != nil {
		e := llmservice.AsError(err)
		if e.Kind == llmservice.Unauthenticated && !gateway.IsIPRefusal(err) {
			return nil, &llmservice.Error{Kind: llmservice.Unauthenticated, Code: codeTokenInvalid,
				Message: msgBadToken, Err: tokenRejected{reason: e.Message}}
		}
		return nil, err
	}
	return p, nil
}
