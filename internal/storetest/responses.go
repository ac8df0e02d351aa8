package storetest

import (
	"context"
	"testing"

	"github.com/llmservice/llmservice"
)

// ResponseStores are the stores the Responses suite needs.
type ResponseStores struct {
	Teams     llmservice.TeamStore
	Responses llmservice.ResponseStore
}

// RunResponses runs the stored-response suite: documents round-trip per
// team, a put replaces, another team's id and a deleted one are NotFound.
func RunResponses(t *testing.T, open func(t *testing.T) ResponseStores) {
	ctx := context.Background()
	s := open(t)
	mustCreateTeam(t, s.Teams, "t1")
	mustCreateTeam(t, s.Teams, "t2")
	must(t, s.Responses.PutResponse(ctx, "t1", "resp_1", []byte(`{"a":1}`)))
	must(t, s.Responses.PutResponse(ctx, "t1", "resp_1", []byte(`{"a":2,"s":"é\u0000"}`)))
	got, err := s.Responses.GetResponse(ctx, "t1", "resp_1")
	must(t, err)
	if string(got) != `{"a":2,"s":"é\u0000"}` {
		t.Errorf("GetResponse = %s", got)
	}
	for _, tc := range []struct{ team, id string }{{"t2", "resp_1"}, {"t1", "resp_2"}} {
		if _, err := s.Responses.GetResponse(ctx, tc.team, tc.id); llmservice.ErrorKind(err) != llmservice.NotFound {
			t.Errorf("GetResponse(%s, %s): %v; want NotFound", tc.team, tc.id, err)
		}
		if err := s.Responses.DeleteResponse(ctx, tc.team, tc.id); llmservice.ErrorKind(err) != llmservice.NotFound {
			t.Errorf("DeleteResponse(%s, %s): %v; want NotFound", tc.team, tc.id, err)
		}
	}
	must(t, s.Responses.DeleteResponse(ctx, "t1", "resp_1"))
	if _, err := s.Responses.GetResponse(ctx, "t1", "resp_1"); llmservice.ErrorKind(err) != llmservice.NotFound {
		t.Errorf("GetResponse after delete: %v; want NotFound", err)
	}
}
