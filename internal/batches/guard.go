package batches

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// errRefused is a delivery the address policy stopped: the receiver's
// address is loopback, link-local, private or unspecified and no
// WebhookConfig.Allow range covers it.
var errRefused = errors.New("refused")

// errUnreachable is every other failure to reach the receiver. The
// dialer's own words (connection refused, no route, timeout) are not kept:
// a tenant reading its deliveries must not learn which ports of which
// hosts answer, which would make webhooks a port scanner.
var errUnreachable = errors.New("unreachable")

// allowedAddr reports whether a webhook may connect to a: public
// addresses always, the others only inside allow.
func allowedAddr(a netip.Addr, allow []netip.Prefix) bool {
	a = a.Unmap()
	for _, p := range allow {
		if p.Contains(a) {
			return true
		}
	}
	return !(a.IsLoopback() || a.IsPrivate() || a.IsUnspecified() || a.IsLinkLocalUnicast() ||
		a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() || a.IsMulticast() || !a.IsValid() ||
		sharedAddressSpace.Contains(a))
}

// sharedAddressSpace is carrier-grade NAT (RFC 6598), private in practice.
var sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10")

// guardedClient returns a client that checks every address it connects to
// after DNS resolution, in the dialer itself, so a name that resolves to a
// public address when checked and to 127.0.0.1 when dialed (DNS rebinding)
// is still refused. It uses no proxy (a proxy would connect on its behalf)
// and follows no redirect (a 3xx is a failed delivery).
func guardedClient(timeout time.Duration, allow []netip.Prefix) *http.Client {
	d := &net.Dialer{Timeout: timeout, Control: func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil || !allowedAddr(ap.Addr(), allow) {
			return errRefused
		}
		return nil
	}}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         d.DialContext,
		TLSHandshakeTimeout: timeout,
		MaxIdleConns:        16,
		IdleConnTimeout:     30 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	return &http.Client{Timeout: timeout, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// deliveryError is what a delivery record says of a failed connection:
// "refused" or "unreachable", never the dialer's text.
func deliveryError(ctx context.Context, err error) error {
	if errors.Is(err, errRefused) {
		return errRefused
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return errUnreachable
}
