package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/llmservice/llmservice"
)

// AthenaStores is one database seen through the stores Athena's
// conversations need: teams own conversations.
type AthenaStores struct {
	Teams         llmservice.TeamStore
	Conversations llmservice.ConversationStore
}

// RunAthena runs the conversation store's suite. open must return stores
// over a fresh, migrated and empty database; every subtest calls it once.
func RunAthena(t *testing.T, open func(t *testing.T) AthenaStores) {
	t.Run("CreateFind", func(t *testing.T) { testConversationCreateFind(t, open) })
	t.Run("TeamIsolation", func(t *testing.T) { testConversationIsolation(t, open) })
	t.Run("Messages", func(t *testing.T) { testConversationMessages(t, open) })
	t.Run("MessagesWithinTokens", func(t *testing.T) { testConversationMessagesWithin(t, open) })
	t.Run("Pages", func(t *testing.T) { testConversationPages(t, open) })
	t.Run("Delete", func(t *testing.T) { testConversationDelete(t, open) })
	t.Run("ConcurrentAppends", func(t *testing.T) { testConversationConcurrentAppends(t, open) })
}

func mustCreateConversation(t *testing.T, s llmservice.ConversationStore, id, team string, created time.Time) *llmservice.Conversation {
	t.Helper()
	c := &llmservice.Conversation{ID: id, TeamID: team, KeyID: "k-" + team, Model: "gpt-5-mini", CreatedAt: created}
	must(t, s.CreateConversation(context.Background(), c))
	return c
}

func testConversationCreateFind(t *testing.T, open func(t *testing.T) AthenaStores) {
	ctx := context.Background()
	s := open(t)
	mustCreateTeam(t, s.Teams, "t1")
	c := &llmservice.Conversation{TeamID: "t1", KeyID: "k1", Model: "gpt-5-mini", SystemMessage: "You are a helpful coding assistant.",
		Metadata: []byte(`{"project":"my-app","purpose":"code-review"}`), CreatedAt: base}
	must(t, s.Conversations.CreateConversation(ctx, c))
	if c.ID == "" || !c.UpdatedAt.Equal(base) {
		t.Fatalf("CreateConversation left ID %q, UpdatedAt %v; want an ID and UpdatedAt = CreatedAt", c.ID, c.UpdatedAt)
	}
	got, err := s.Conversations.FindConversation(ctx, "t1", c.ID)
	must(t, err)
	if diff := cmp.Diff(c, got, opts); diff != "" {
		t.Errorf("FindConversation mismatch (-want +got):\n%s", diff)
	}

	t.Run("NoMetadataIsEmptyObject", func(t *testing.T) {
		c := &llmservice.Conversation{TeamID: "t1", Model: "m"}
		must(t, s.Conversations.CreateConversation(ctx, c))
		got, err := s.Conversations.FindConversation(ctx, "t1", c.ID)
		must(t, err)
		if string(got.Metadata) != "{}" || got.CreatedAt.IsZero() {
			t.Errorf("metadata = %s, created %v; want {} and a creation time", got.Metadata, got.CreatedAt)
		}
	})
	t.Run("DuplicateIDConflict", func(t *testing.T) {
		err := s.Conversations.CreateConversation(ctx, &llmservice.Conversation{ID: c.ID, TeamID: "t1", Model: "m"})
		wantKind(t, err, llmservice.Conflict)
	})
	t.Run("UnknownTeamNotFound", func(t *testing.T) {
		err := s.Conversations.CreateConversation(ctx, &llmservice.Conversation{TeamID: "nope", Model: "m"})
		wantKind(t, err, llmservice.NotFound)
	})
	t.Run("MissingNotFound", func(t *testing.T) {
		_, err := s.Conversations.FindConversation(ctx, "t1", "conv_missing")
		wantKind(t, err, llmservice.NotFound)
	})
}

// A conversation of another team must look exactly like a missing one to
// every method.
func testConversationIsolation(t *testing.T, open func(t *testing.T) AthenaStores) {
	ctx := context.Background()
	s := open(t)
	mustCreateTeam(t, s.Teams, "a")
	mustCreateTeam(t, s.Teams, "b")
	c := mustCreateConversation(t, s.Conversations, "conv_a", "a", base)
	msgs := []*llmservice.ConversationMessage{{Role: "user", Content: "hi"}}
	must(t, s.Conversations.AppendConversationMessages(ctx, "a", c.ID, msgs))

	tests := []struct {
		name string
		call func() error
	}{
		{"Find", func() error { _, err := s.Conversations.FindConversation(ctx, "b", c.ID); return err }},
		{"Messages", func() error { _, err := s.Conversations.FindConversationMessages(ctx, "b", c.ID, 0); return err }},
		{"Append", func() error {
			return s.Conversations.AppendConversationMessages(ctx, "b", c.ID, []*llmservice.ConversationMessage{{Role: "user", Content: "x"}})
		}},
		{"Delete", func() error { return s.Conversations.DeleteConversation(ctx, "b", c.ID) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantKind(t, tt.call(), llmservice.NotFound) })
	}
	page, _, err := s.Conversations.FindConversations(ctx, llmservice.ConversationFilter{TeamID: "b"})
	must(t, err)
	if len(page) != 0 {
		t.Errorf("team b lists %d conversations; want none of team a's", len(page))
	}
	got, err := s.Conversations.FindConversation(ctx, "a", c.ID)
	must(t, err)
	if got.MessageCount != 1 {
		t.Errorf("MessageCount = %d after team b's attempts; want 1", got.MessageCount)
	}
}

func testConversationMessages(t *testing.T, open func(t *testing.T) AthenaStores) {
	ctx := context.Background()
	s := open(t)
	mustCreateTeam(t, s.Teams, "t1")
	c := mustCreateConversation(t, s.Conversations, "conv_1", "t1", base)
	later := base.Add(time.Minute)
	turn1 := []*llmservice.ConversationMessage{
		{Role: "user", Content: "Review this Python function", Tokens: 9, CreatedAt: later},
		{Role: "assistant", Content: "Looks fine.", Tokens: 7, Model: "gpt-5-mini", PromptTokens: 20, CompletionTokens: 4, CreatedAt: later},
	}
	must(t, s.Conversations.AppendConversationMessages(ctx, "t1", c.ID, turn1))
	turn2 := []*llmservice.ConversationMessage{{Role: "user", Content: "And this one?", Tokens: 8}}
	must(t, s.Conversations.AppendConversationMessages(ctx, "t1", c.ID, turn2))
	for i, m := range append(turn1, turn2...) {
		if m.Seq != i+1 || m.ID == "" || m.ConversationID != c.ID || m.CreatedAt.IsZero() {
			t.Errorf("message %d after append: seq %d, id %q, conversation %q, created %v; want seq %d and the rest filled in",
				i, m.Seq, m.ID, m.ConversationID, m.CreatedAt, i+1)
		}
	}
	got, err := s.Conversations.FindConversationMessages(ctx, "t1", c.ID, 0)
	must(t, err)
	if diff := cmp.Diff(append(turn1, turn2...), got, opts); diff != "" {
		t.Errorf("FindConversationMessages mismatch (-want +got):\n%s", diff)
	}
	conv, err := s.Conversations.FindConversation(ctx, "t1", c.ID)
	must(t, err)
	if conv.MessageCount != 3 || !conv.UpdatedAt.After(conv.CreatedAt) {
		t.Errorf("conversation after appends: count %d, updated %v (created %v); want 3 and a later update",
			conv.MessageCount, conv.UpdatedAt, conv.CreatedAt)
	}
	t.Run("EmptyConversation", func(t *testing.T) {
		e := mustCreateConversation(t, s.Conversations, "conv_empty", "t1", base)
		got, err := s.Conversations.FindConversationMessages(ctx, "t1", e.ID, 0)
		must(t, err)
		if len(got) != 0 {
			t.Errorf("got %d messages; want none", len(got))
		}
	})
}

func testConversationMessagesWithin(t *testing.T, open func(t *testing.T) AthenaStores) {
	ctx := context.Background()
	s := open(t)
	mustCreateTeam(t, s.Teams, "t1")
	c := mustCreateConversation(t, s.Conversations, "conv_1", "t1", base)
	var msgs []*llmservice.ConversationMessage
	for i := range 6 { // tokens 10, 20, 30, 40, 50, 60
		msgs = append(msgs, &llmservice.ConversationMessage{Role: "user", Content: fmt.Sprint(i), Tokens: 10 * (i + 1)})
	}
	must(t, s.Conversations.AppendConversationMessages(ctx, "t1", c.ID, msgs))
	tests := []struct {
		max  int
		want []int // seqs
	}{
		{0, []int{1, 2, 3, 4, 5, 6}},
		{59, nil},
		{60, []int{6}},
		{110, []int{5, 6}},
		{149, []int{5, 6}},
		{150, []int{4, 5, 6}},
		{1000, []int{1, 2, 3, 4, 5, 6}},
	}
	for _, tt := range tests {
		got, err := s.Conversations.FindConversationMessages(ctx, "t1", c.ID, tt.max)
		must(t, err)
		var seqs []int
		for _, m := range got {
			seqs = append(seqs, m.Seq)
		}
		if diff := cmp.Diff(tt.want, seqs, opts); diff != "" {
			t.Errorf("FindConversationMessages(max %d) seqs mismatch (-want +got):\n%s", tt.max, diff)
		}
	}
}

func testConversationPages(t *testing.T, open func(t *testing.T) AthenaStores) {
	ctx := context.Background()
	s := open(t)
	mustCreateTeam(t, s.Teams, "t1")
	mustCreateTeam(t, s.Teams, "t2")
	// Two share a creation time, so the ID must break the tie.
	var want []string
	for i := range 7 {
		id := fmt.Sprintf("conv_%d", i)
		mustCreateConversation(t, s.Conversations, id, "t1", base.Add(time.Duration(i/2)*time.Second))
		want = append([]string{id}, want...)
	}
	mustCreateConversation(t, s.Conversations, "conv_other", "t2", base)

	var got []string
	cursor := ""
	for range 10 {
		page, next, err := s.Conversations.FindConversations(ctx, llmservice.ConversationFilter{TeamID: "t1", Limit: 3, Cursor: cursor})
		must(t, err)
		for _, c := range page {
			got = append(got, c.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("paging by cursor (-want +got):\n%s", diff)
	}

	page, next, err := s.Conversations.FindConversations(ctx, llmservice.ConversationFilter{TeamID: "t1", Limit: 2, Offset: 5})
	must(t, err)
	if len(page) != 2 || page[0].ID != want[5] || next != "" {
		t.Errorf("offset 5 limit 2: got %d conversations (first %v), next %q; want %v and no next page", len(page), page, next, want[5:])
	}

	tests := []struct {
		name string
		f    llmservice.ConversationFilter
	}{
		{"BadCursor", llmservice.ConversationFilter{TeamID: "t1", Cursor: "not-a-cursor"}},
		{"CursorAndOffset", llmservice.ConversationFilter{TeamID: "t1", Cursor: cursor, Offset: 1}},
		{"NegativeOffset", llmservice.ConversationFilter{TeamID: "t1", Offset: -1}},
		{"NoTeam", llmservice.ConversationFilter{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := s.Conversations.FindConversations(ctx, tt.f)
			wantKind(t, err, llmservice.Invalid)
		})
	}
}

func testConversationDelete(t *testing.T, open func(t *testing.T) AthenaStores) {
	ctx := context.Background()
	s := open(t)
	mustCreateTeam(t, s.Teams, "t1")
	c := mustCreateConversation(t, s.Conversations, "conv_1", "t1", base)
	must(t, s.Conversations.AppendConversationMessages(ctx, "t1", c.ID, []*llmservice.ConversationMessage{{Role: "user", Content: "x"}}))
	must(t, s.Conversations.DeleteConversation(ctx, "t1", c.ID))
	_, err := s.Conversations.FindConversation(ctx, "t1", c.ID)
	wantKind(t, err, llmservice.NotFound)
	_, err = s.Conversations.FindConversationMessages(ctx, "t1", c.ID, 0)
	wantKind(t, err, llmservice.NotFound)
	wantKind(t, s.Conversations.DeleteConversation(ctx, "t1", c.ID), llmservice.NotFound)

	t.Run("DeletingTeamDeletesConversations", func(t *testing.T) {
		mustCreateConversation(t, s.Conversations, "conv_2", "t1", base)
		must(t, s.Teams.DeleteTeam(ctx, "t1"))
		_, err := s.Conversations.FindConversation(ctx, "t1", "conv_2")
		wantKind(t, err, llmservice.NotFound)
	})
}

// Turns appended at once must each keep their two messages together and
// never share a seq.
func testConversationConcurrentAppends(t *testing.T, open func(t *testing.T) AthenaStores) {
	ctx := context.Background()
	s := open(t)
	mustCreateTeam(t, s.Teams, "t1")
	c := mustCreateConversation(t, s.Conversations, "conv_1", "t1", base)
	const turns = 8
	var wg sync.WaitGroup
	errs := make(chan error, turns)
	for i := range turns {
		wg.Go(func() {
			errs <- s.Conversations.AppendConversationMessages(ctx, "t1", c.ID, []*llmservice.ConversationMessage{
				{Role: "user", Content: fmt.Sprint(i)}, {Role: "assistant", Content: fmt.Sprint(i)}})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	got, err := s.Conversations.FindConversationMessages(ctx, "t1", c.ID, 0)
	must(t, err)
	if len(got) != 2*turns {
		t.Fatalf("got %d messages; want %d", len(got), 2*turns)
	}
	for i := 0; i < len(got); i += 2 {
		u, a := got[i], got[i+1]
		if u.Seq != i+1 || a.Seq != i+2 || u.Role != "user" || a.Role != "assistant" || u.Content != a.Content {
			t.Errorf("messages %d-%d = (%d %s %s) (%d %s %s); want one turn's user and assistant messages in order",
				i, i+1, u.Seq, u.Role, u.Content, a.Seq, a.Role, a.Content)
		}
	}
}
