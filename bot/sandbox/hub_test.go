package sandbox

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func (h *hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// waitFor polls cond until it holds or two seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestStreamEndsWithItsClient: a page hides its tab by closing its event
// stream, and that only frees the browser's connection if the server lets
// go of it. The handler must return (and unsubscribe) as soon as the client
// goes, and a later stream must subscribe afresh.
func TestStreamEndsWithItsClient(t *testing.T) {
	s := New(Config{}, nil, nil) // the stream reads neither the store nor the engine
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	defer s.Close()
	for round := 1; round <= 3; round++ { // hidden, shown, hidden, …
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/sandbox/api/events", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != 200 {
			t.Fatalf("round %d: %d", round, res.StatusCode)
		}
		waitFor(t, "the stream to subscribe", func() bool { return s.hub.count() == 1 })
		cancel()
		res.Body.Close()
		waitFor(t, "the closed stream to unsubscribe", func() bool { return s.hub.count() == 0 })
	}
}
