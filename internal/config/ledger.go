package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Ledger tunes the usage ledger's writer (internal/meter). Zero values
// take the defaults of the methods below.
type Ledger struct {
	// JournalDir is where usage records wait while the database cannot
	// be written (default: usage-journal beside a SQLite file; with
	// PostgreSQL, usage-journal/<hash of the database URL> in the working
	// directory).
	JournalDir string `yaml:"journal_dir"`
	// JournalMaxBytes bounds the journal (default 256 MiB). When it is
	// full too, new calls are refused with 503.
	JournalMaxBytes int64 `yaml:"journal_max_bytes"`
	// FlushInterval is the longest a usage record waits in memory before
	// it is written (default 200ms): what a SIGKILL can lose at most.
	FlushInterval time.Duration `yaml:"flush_interval"`
	// Buffer is how many records wait in memory for the writer (default
	// 4096).
	Buffer int `yaml:"buffer"`
}

// Defaults of the ledger settings.
const (
	DefaultJournalMaxBytes = 256 << 20
	DefaultFlushInterval   = 200 * time.Millisecond
	DefaultLedgerBuffer    = 4096
)

// JournalDir is the configured journal directory, or its default.
func (c *Config) JournalDir() string {
	if c.Ledger.JournalDir != "" {
		return c.Ledger.JournalDir
	}
	url := c.DatabaseURL
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		// One directory per database: a process must never replay into
		// its database what another wrote for a different one.
		sum := sha256.Sum256([]byte(url))
		return filepath.Join("usage-journal", hex.EncodeToString(sum[:6]))
	}
	path := strings.TrimPrefix(strings.TrimPrefix(url, "sqlite://"), "sqlite:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if path == "" || path == ":memory:" {
		return "usage-journal"
	}
	return filepath.Join(filepath.Dir(path), "usage-journal")
}

// JournalMaxBytes is the configured journal bound, or its default.
func (c *Config) JournalMaxBytes() int64 {
	if c.Ledger.JournalMaxBytes > 0 {
		return c.Ledger.JournalMaxBytes
	}
	return DefaultJournalMaxBytes
}

// FlushInterval is the configured usage flush interval, or its default.
func (c *Config) FlushInterval() time.Duration {
	if c.Ledger.FlushInterval > 0 {
		return c.Ledger.FlushInterval
	}
	return DefaultFlushInterval
}

// LedgerBuffer is the configured usage buffer, or its default.
func (c *Config) LedgerBuffer() int {
	if c.Ledger.Buffer > 0 {
		return c.Ledger.Buffer
	}
	return DefaultLedgerBuffer
}

// applyLedgerEnv reads the ledger's settings and the shutdown deadline
// from the environment.
func (c *Config) applyLedgerEnv(getenv func(string) string) error {
	if v := getenv("LLMSERVICE_JOURNAL_DIR"); v != "" {
		c.Ledger.JournalDir = v
	}
	if v := getenv("LLMSERVICE_JOURNAL_MAX_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return fmt.Errorf("LLMSERVICE_JOURNAL_MAX_BYTES=%q: want a positive number of bytes", v)
		}
		c.Ledger.JournalMaxBytes = n
	}
	if v := getenv("LLMSERVICE_USAGE_BUFFER"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return fmt.Errorf("LLMSERVICE_USAGE_BUFFER=%q: want a positive number of records", v)
		}
		c.Ledger.Buffer = n
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"LLMSERVICE_USAGE_FLUSH_INTERVAL", &c.Ledger.FlushInterval}, {"LLMSERVICE_SHUTDOWN_TIMEOUT", &c.ShutdownTimeout}} {
		if v := getenv(d.name); v != "" {
			t, err := time.ParseDuration(v)
			if err != nil || t <= 0 {
				return fmt.Errorf("%s=%q: want a positive duration such as 200ms or 30s", d.name, v)
			}
			*d.dst = t
		}
	}
	return nil
}
