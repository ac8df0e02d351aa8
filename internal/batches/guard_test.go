package batches

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestAllowedAddr(t *testing.T) {
	local := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	for _, tc := range []struct {
		addr  string
		allow []netip.Prefix
		ok    bool
	}{
		{"93.184.216.34", nil, true},
		{"2606:2800:220:1:248:1893:25c8:1946", nil, true},
		{"127.0.0.1", nil, false},
		{"127.0.0.1", local, true},
		{"127.1.2.3", local, true},
		{"::1", nil, false},
		{"::1", local, false},
		{"::ffff:127.0.0.1", nil, false},
		{"::ffff:127.0.0.1", local, true},
		{"169.254.169.254", nil, false},
		{"169.254.169.254", local, false},
		{"fe80::1", nil, false},
		{"10.0.0.5", nil, false},
		{"172.16.3.4", nil, false},
		{"192.168.1.1", nil, false},
		{"fd00::1", nil, false},
		{"100.64.0.1", nil, false},
		{"0.0.0.0", nil, false},
		{"::", nil, false},
		{"224.0.0.1", nil, false},
		{"10.0.0.5", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")}, true},
	} {
		if got := allowedAddr(netip.MustParseAddr(tc.addr), tc.allow); got != tc.ok {
			t.Errorf("allowedAddr(%s, %v) = %v; want %v", tc.addr, tc.allow, got, tc.ok)
		}
	}
}

// The guard acts on the address the dialer connects to: a name that
// resolves to loopback ("localhost", as a rebinding name would at connect
// time) is refused like the literal address; metadata addresses are refused
// before any packet leaves; an allowed range is delivered to.
func TestGuardedClient(t *testing.T) {
	hits := 0
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer recv.Close()
	port := recv.URL[strings.LastIndex(recv.URL, ":"):]
	local := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	for _, tc := range []struct {
		name, url string
		allow     []netip.Prefix
		want      error // nil: delivered
	}{
		{"loopback", recv.URL, nil, errRefused},
		{"localhost by name", "http://localhost" + port, nil, errRefused},
		{"metadata", "http://169.254.169.254/latest/meta-data/", nil, errRefused},
		{"private", "http://10.255.255.1:9/", nil, errRefused},
		{"loopback allowed", recv.URL, local, nil},
		{"metadata with loopback allowed", "http://169.254.169.254/latest/meta-data/", local, errRefused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := hits
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "POST", tc.url, nil)
			resp, err := guardedClient(20*time.Second, tc.allow).Do(req)
			if err == nil {
				resp.Body.Close()
			} else {
				err = deliveryError(ctx, err)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("POST %s: %v; want %v", tc.url, err, tc.want)
			}
			if delivered := hits > before; delivered != (tc.want == nil) {
				t.Errorf("receiver hit = %v; want %v", delivered, tc.want == nil)
			}
		})
	}
}

// A failure to connect to an allowed address says "unreachable", not the
// dialer's text (which would tell open ports from closed ones).
func TestDeliveryErrorHidesDialerText(t *testing.T) {
	recv := httptest.NewServer(http.NotFoundHandler())
	url := recv.URL
	recv.Close() // nothing listens there now
	req, _ := http.NewRequest("POST", url, nil)
	_, err := guardedClient(5*time.Second, []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}).Do(req)
	if err == nil {
		t.Fatal("a closed port answered")
	}
	if got := deliveryError(context.Background(), err); got.Error() != "unreachable" {
		t.Errorf("deliveryError = %q; want unreachable", got)
	}
}
