// Package llmservice holds the vocabulary of the gateway: domain types, error
// kinds and the store interfaces. It imports only the standard library, so
// every other package can depend on it without dragging anything along.
package llmservice
