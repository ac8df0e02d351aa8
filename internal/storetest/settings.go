package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/llmservice/llmservice"
)

func testSettings(t *testing.T, open func(t *testing.T) Stores) {
	ctx := context.Background()

	t.Run("MissingNotFound", func(t *testing.T) {
		s := open(t)
		_, err := s.Settings.Setting(ctx, "nope")
		wantKind(t, err, llmservice.NotFound)
	})

	t.Run("FirstValueWins", func(t *testing.T) {
		s := open(t)
		for _, v := range []string{"first", "second"} {
			got, err := s.Settings.SetSettingIfAbsent(ctx, "admin", v)
			must(t, err)
			if got != "first" {
				t.Errorf("SetSettingIfAbsent(admin, %q) = %q; want %q", v, got, "first")
			}
		}
		got, err := s.Settings.Setting(ctx, "admin")
		must(t, err)
		if got != "first" {
			t.Errorf("Setting(admin) = %q; want %q", got, "first")
		}
		// Names are independent.
		got, err = s.Settings.SetSettingIfAbsent(ctx, "other", "x")
		must(t, err)
		if got != "x" {
			t.Errorf("SetSettingIfAbsent(other, x) = %q; want x", got)
		}
	})

	t.Run("ConcurrentCallersAgree", func(t *testing.T) {
		s := open(t)
		const n = 8
		got := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				got[i], errs[i] = s.Settings.SetSettingIfAbsent(ctx, "admin", fmt.Sprintf("v%d", i))
			})
		}
		wg.Wait()
		for i := range n {
			must(t, errs[i])
			if got[i] != got[0] {
				t.Errorf("caller %d got %q, caller 0 got %q; want the same value", i, got[i], got[0])
			}
		}
		stored, err := s.Settings.Setting(ctx, "admin")
		must(t, err)
		if stored != got[0] {
			t.Errorf("Setting(admin) = %q; want %q", stored, got[0])
		}
	})
}
