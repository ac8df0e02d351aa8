// Package sfdhttp is the HTTP side of StackForDevs that more than one API
// serves: its credentials, four headers (key, secret, tenant, project) that
// StackForDevs clients send on every request, and its error body. The
// StackForDevs API, the OpenAI dialect (StackForDevs clients post their
// completions to /v1/completions) and the batch feature all accept them, so
// they are read and written here, below the dialects, once.
package sfdhttp

import (
	"context"
	"net/http"

	"github.com/llmservice/llmservice"
	"github.com/llmservice/llmservice/internal/gateway"
)

// Headers StackForDevs clients send on every request.
const (
	HeaderAPIKey    = "X-Api-Key"
	HeaderSecretKey = "X-Secret-Key"
	HeaderTenantID  = "X-Tenant-Id"
	HeaderProjectID = "X-Project-Id"
)

// Caller is an authenticated StackForDevs request.
type Caller struct {
	Principal *gateway.Principal
	Tenant    string
	Project   string
}

// SecretAuthenticator is the gateway ability the credentials need.
type SecretAuthenticator interface {
	AuthenticateSecret(ctx context.Context, key, secret string) (*gateway.Principal, error)
}

// Present reports whether an x-api-key comes with the other StackForDevs
// credentials (a secret or a tenant) and no Authorization header; an
// x-api-key alone is a plain virtual key, as Anthropic's clients send it.
func Present(r *http.Request) bool {
	return Keyed(r) && (r.Header.Get(HeaderSecretKey) != "" || r.Header.Get(HeaderTenantID) != "")
}

// Keyed reports whether r carries an x-api-key and no Authorization
// header.
func Keyed(r *http.Request) bool {
	return r.Header.Get("Authorization") == "" && r.Header.Get(HeaderAPIKey) != ""
}

// Authenticate checks the four StackForDevs headers: the key and its
// secret, the tenant (which must be the key's team: anything else is 401,
// as for a wrong secret) and the project. The key's IP allowlist is
// checked by the gateway's authentication.
func Authenticate(ctx context.Context, gw SecretAuthenticator, r *http.Request) (*Caller, error) {
	key, secret := r.Header.Get(HeaderAPIKey), r.Header.Get(HeaderSecretKey)
	tenant, project := r.Header.Get(HeaderTenantID), r.Header.Get(HeaderProjectID)
	switch {
	case key == "":
		return nil, unauthenticated("missing_api_key", "x-api-key header is required")
	case secret == "":
		return nil, unauthenticated("missing_secret_key", "x-secret-key header is required")
	case tenant == "":
		return nil, unauthenticated("missing_tenant_id", "x-tenant-id header is required")
	}
	p, err := gw.AuthenticateSecret(ctx, key, secret)
	if err != nil {
		return nil, err
	}
	if tenant != p.Team.ID {
		return nil, unauthenticated("tenant_mismatch", "x-tenant-id does not match the tenant of this API key")
	}
	if project == "" {
		return nil, &llmservice.Error{Kind: llmservice.Invalid, Param: "x-project-id", Code: "missing_project_id", Message: "x-project-id header is required"}
	}
	return &Caller{Principal: p, Tenant: tenant, Project: project}, nil
}

func unauthenticated(code, msg string) error {
	return &llmservice.Error{Kind: llmservice.Unauthenticated, Code: code, Message: msg}
}
