package limit

import "github.com/prometheus/client_golang/prometheus"

// metrics tell operators whether limits are shared (Redis) or per replica.
// They are the switch's; naming them here keeps them at hand for tests.
type metrics struct {
	fallbacks prometheus.Counter
	backend   *prometheus.GaugeVec
}
