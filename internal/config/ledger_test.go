package config

import (
	"testing"
	"time"
)

func TestLedgerSettings(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		dir     string
		max     int64
		flush   time.Duration
		buffer  int
		wantErr bool
	}{
		{name: "defaults beside the SQLite file", env: map[string]string{"LLMSERVICE_DATABASE_URL": "sqlite:///var/db/x.db"},
			dir: "/var/db/usage-journal", max: DefaultJournalMaxBytes, flush: DefaultFlushInterval, buffer: DefaultLedgerBuffer},
		{name: "PostgreSQL: the working directory", env: map[string]string{"LLMSERVICE_DATABASE_URL": "postgres://h/db"},
			dir: "usage-journal/7e1046ffb29d", max: DefaultJournalMaxBytes, flush: DefaultFlushInterval, buffer: DefaultLedgerBuffer},
		{name: "set", env: map[string]string{"LLMSERVICE_JOURNAL_DIR": "/j", "LLMSERVICE_JOURNAL_MAX_BYTES": "1000",
			"LLMSERVICE_USAGE_FLUSH_INTERVAL": "50ms", "LLMSERVICE_USAGE_BUFFER": "64"},
			dir: "/j", max: 1000, flush: 50 * time.Millisecond, buffer: 64},
		{name: "bad size", env: map[string]string{"LLMSERVICE_JOURNAL_MAX_BYTES": "-1"}, wantErr: true},
		{name: "bad interval", env: map[string]string{"LLMSERVICE_USAGE_FLUSH_INTERVAL": "soon"}, wantErr: true},
		{name: "bad shutdown", env: map[string]string{"LLMSERVICE_SHUTDOWN_TIMEOUT": "0s"}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(nil, func(k string) string { return tc.env[k] })
			if tc.wantErr {
				if err == nil {
					t.Fatal("Load() = nil error; want one")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.JournalDir() != tc.dir || c.JournalMaxBytes() != tc.max || c.FlushInterval() != tc.flush || c.LedgerBuffer() != tc.buffer {
				t.Errorf("got %q %d %v %d; want %q %d %v %d", c.JournalDir(), c.JournalMaxBytes(), c.FlushInterval(), c.LedgerBuffer(),
					tc.dir, tc.max, tc.flush, tc.buffer)
			}
		})
	}
}
