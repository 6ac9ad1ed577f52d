package bot

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/towerbot/towerbot/store"
)

// workerRun is one batch a test worker started: its messages (chat/id)
// and the controls of its handling.
type workerRun struct {
	batch   string
	handled func()
	end     chan struct{}
}

// newTestWorker returns a worker whose batches are reported on runs and
// end only when the test closes their end channel, with a function that
// queues a message of chat.
func newTestWorker(t *testing.T) (w *worker, runs chan workerRun, queue func(chat, id string), closeQueue func()) {
	q := make(chan *store.InboundMessage, 64)
	slots := make(chan struct{}, 64)
	runs = make(chan workerRun)
	var group sync.WaitGroup
	w = &worker{queue: q, open: true, slots: slots, max: 8, group: &group, depth: 2, run: func(batch []*store.InboundMessage, handled func()) {
		r := workerRun{handled: handled, end: make(chan struct{})}
		for i, m := range batch {
			if i > 0 {
				r.batch += " "
			}
			r.batch += m.ChatID + "/" + m.PlatformMsgID
		}
		runs <- r
		<-r.end
	}}
	queue = func(chat, id string) {
		slots <- struct{}{} // as Receive reserves one
		q <- &store.InboundMessage{Platform: "sandbox", ChatID: chat, PlatformMsgID: id}
	}
	return w, runs, queue, func() { close(q) }
}

// nextRun waits for the worker's next batch and checks its messages.
func nextRun(t *testing.T, runs chan workerRun, want string) workerRun {
	t.Helper()
	select {
	case r := <-runs:
		if r.batch != want {
			t.Fatalf("batch %q; want %q", r.batch, want)
		}
		return r
	case <-time.After(5 * time.Second):
		t.Fatalf("no batch within 5s; want %q", want)
	}
	return workerRun{}
}

// noRun checks that the worker starts no batch for a while.
func noRun(t *testing.T, runs chan workerRun, why string) {
	t.Helper()
	select {
	case r := <-runs:
		t.Fatalf("batch %q started; want none: %s", r.batch, why)
	case <-time.After(100 * time.Millisecond):
	}
}

// TestWorkerOverlapsBatchesInChatOrder: the worker takes its next batch
// once a batch's messages are handled, while that batch commits — but
// holds back every message of a chat with a message still committing, two
// batches at most at once.
func TestWorkerOverlapsBatchesInChatOrder(t *testing.T) {
	w, runs, queue, closeQueue := newTestWorker(t)
	done := make(chan struct{})
	go func() { w.loop(); close(done) }()

	queue("X", "1")
	first := nextRun(t, runs, "X/1")
	queue("X", "2")
	queue("Y", "1")
	noRun(t, runs, "a batch still being handled holds the worker")
	first.handled()
	// X/2 waits for X/1's batch; Y/1 need not.
	second := nextRun(t, runs, "Y/1")
	queue("X", "3")
	queue("Z", "1")
	second.handled()
	noRun(t, runs, "two batches are under way")
	close(first.end)
	// X's messages go on in order, now that X/1's batch has ended; Y's
	// batch is the one still ending.
	third := nextRun(t, runs, "X/2 X/3 Z/1")
	queue("Y", "2")
	queue("W", "1")
	third.handled()
	close(second.end)
	fourth := nextRun(t, runs, "Y/2 W/1")
	close(third.end)
	close(fourth.end)

	// A batch that fails before its messages are handled (no handled
	// call) lets the worker go on once it has ended.
	queue("V", "1")
	fifth := nextRun(t, runs, "V/1")
	queue("V", "2")
	close(fifth.end)
	sixth := nextRun(t, runs, "V/2")
	close(sixth.end)

	closeQueue()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the worker did not stop once its queue closed")
	}
	if n := len(w.slots); n != 0 {
		t.Fatalf("%d queue slots still taken", n)
	}
}

// TestWorkerKeepsOverflowInOrder: messages held back beyond HandleBatch
// wait for the batch after, and so do their chat's later messages.
func TestWorkerKeepsOverflowInOrder(t *testing.T) {
	w, runs, queue, closeQueue := newTestWorker(t)
	done := make(chan struct{})
	go func() { w.loop(); close(done) }()

	queue("H", "0")
	first := nextRun(t, runs, "H/0")
	first.handled()
	var batch, rest []string
	for i := 1; i <= w.max+2; i++ {
		queue("H", fmt.Sprint(i))
		if i <= w.max {
			batch = append(batch, fmt.Sprintf("H/%d", i))
		} else {
			rest = append(rest, fmt.Sprintf("H/%d", i))
		}
	}
	noRun(t, runs, "H's messages wait for H/0's batch")
	close(first.end)
	second := nextRun(t, runs, strings.Join(batch, " "))
	queue("H", "11")
	second.handled()
	noRun(t, runs, "the rest of H's messages wait for the batch committing")
	close(second.end)
	close(nextRun(t, runs, strings.Join(append(rest, "H/11"), " ")).end)
	closeQueue()
	<-done
}
