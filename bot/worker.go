package bot

import (
	"slices"
	"sync"

	"github.com/towerbot/towerbot/store"
)

// batchesUnderWay is how many batches a worker has under way at most: one
// being handled while the one before commits.
const batchesUnderWay = 2

// work is one worker: it handles the messages of its queue until the
// queue closes — what is queued when it looks, up to HandleBatch, in one
// transaction (handleBatch), one message alone as it comes.
//
// A batch's last steps — writing what its unit queued (its posts, its
// readings), recording the outcomes and committing — need nothing more of
// the worker, so the worker takes its next batch as soon as the messages
// are handled and lets those steps finish beside it: two batches at most
// at once, the later one's handling alongside the earlier one's commit.
// Order within a chat still holds: a message whose chat has a message in
// the batch still finishing is held back, with every later message of
// that chat, until that batch has ended (committed, or each of its
// messages handled alone). Across chats, two batches at once see each
// other's writes only once committed, as two workers do.
func (e *Engine) work(queue <-chan *store.InboundMessage) {
	defer e.workers.Done()
	w := &worker{queue: queue, open: true, slots: e.slots, max: e.cfg.HandleBatch, group: &e.workers, run: e.runBatch,
		depth: batchesUnderWay}
	w.loop()
}

// loop takes batches and runs them until the queue is closed and every
// batch has ended.
func (w *worker) loop() {
	for {
		batch := w.next()
		if len(batch) == 0 {
			break
		}
		run := w.start(batch)
		// On to the next batch once this one's messages are handled, once
		// fewer than depth are under way.
		select {
		case <-run.handled:
		case <-run.ended:
		}
		w.prune()
		for len(w.ending) >= w.depth-1 {
			<-w.ending[0].ended
			w.prune()
		}
		w.ending = append(w.ending, run)
	}
	for _, r := range w.ending {
		<-r.ended
	}
}

// prune forgets the batches that have ended.
func (w *worker) prune() {
	w.ending = slices.DeleteFunc(w.ending, func(r *batchRun) bool { return isClosed(r.ended) })
}

// worker is work's state: the queue, the batches still ending, and the
// messages held back behind them.
type worker struct {
	queue <-chan *store.InboundMessage
	open  bool          // the queue is not closed yet
	slots chan struct{} // the engine's: a message taken gives its slot back
	max   int           // HandleBatch
	group *sync.WaitGroup
	// run handles a batch, calling handled (if at all) once only its
	// commit is left: Engine.runBatch.
	run func(batch []*store.InboundMessage, handled func())

	depth  int         // batches under way at most
	ending []*batchRun // batches handled, still ending
	// held are messages taken from the queue whose chat has a message in
	// a batch still ending (or in held before them, or that did not fit
	// in the batch), in the order they came; each still holds its slot in
	// the queue.
	held      []*store.InboundMessage
	heldChats map[string]bool
}

// batchRun is a batch being handled: handled is closed once its messages
// are handled (only its commit is left), ended once it is over.
type batchRun struct {
	chats   map[string]bool
	handled chan struct{}
	ended   chan struct{}
}

// chatKey names m's chat, as queueFor does.
func chatKey(m *store.InboundMessage) string { return m.Platform + "\x00" + m.ChatID }

// next returns the next batch: the messages held back first once the
// batch they waited for has ended, then what is queued, up to
// HandleBatch, waiting only for the first. It returns none once the queue
// is closed and nothing is held.
func (w *worker) next() []*store.InboundMessage {
	var batch []*store.InboundMessage
	for {
		w.prune()
		// The held first: those whose chat no longer waits (the batch
		// they waited for has ended) join the batch, the rest stay held,
		// in order.
		held := w.held
		w.held, w.heldChats = nil, nil
		batch = w.take(batch, held...)
		for w.open && len(batch) < w.max {
			m, ok := w.receive(len(batch) == 0 && len(w.held) == 0)
			if !ok {
				break
			}
			batch = w.take(batch, m)
		}
		switch {
		case len(batch) > 0:
			return batch
		case len(w.held) == 0:
			return nil // the queue closed: receive waits otherwise
		}
		// All at hand waits for a batch still ending: wait for the oldest
		// to end, or for a message that need not wait.
		if !w.open {
			<-w.ending[0].ended
			continue
		}
		select {
		case <-w.ending[0].ended:
		case m, ok := <-w.queue:
			if !ok {
				w.open = false
			} else {
				batch = w.take(batch, m)
			}
		}
	}
}

// receive takes a message from the queue: waiting for one when wait, else
// only one already there. ok is false when there is none (or the queue
// closed).
func (w *worker) receive(wait bool) (*store.InboundMessage, bool) {
	if !wait {
		select {
		case m, ok := <-w.queue:
			w.open = ok
			return m, ok
		default:
			return nil, false
		}
	}
	m, ok := <-w.queue
	w.open = ok
	return m, ok
}

// take adds ms to batch, up to HandleBatch, holding back those whose chat
// waits for the batch still ending (and those beyond HandleBatch, so that
// their chats' later messages keep their place behind them). A message
// added gives back its slot in the queue; one held keeps it.
func (w *worker) take(batch []*store.InboundMessage, ms ...*store.InboundMessage) []*store.InboundMessage {
	for _, m := range ms {
		if len(batch) >= w.max || w.holds(m) {
			w.hold(m)
			continue
		}
		<-w.slots
		batch = append(batch, m)
	}
	return batch
}

// holds reports whether m must wait: its chat has a message in a batch
// still ending, or one held back already.
func (w *worker) holds(m *store.InboundMessage) bool {
	k := chatKey(m)
	return w.heldChats[k] || slices.ContainsFunc(w.ending, func(r *batchRun) bool { return r.chats[k] })
}

func (w *worker) hold(m *store.InboundMessage) {
	if w.heldChats == nil {
		w.heldChats = map[string]bool{}
	}
	w.held = append(w.held, m)
	w.heldChats[chatKey(m)] = true
}

// start handles batch beside the worker and returns at once.
func (w *worker) start(batch []*store.InboundMessage) *batchRun {
	run := &batchRun{chats: make(map[string]bool, len(batch)), handled: make(chan struct{}), ended: make(chan struct{})}
	for _, m := range batch {
		run.chats[chatKey(m)] = true
	}
	w.group.Add(1)
	go func() {
		defer w.group.Done()
		defer close(run.ended)
		var once sync.Once
		w.run(batch, func() { once.Do(func() { close(run.handled) }) })
	}()
	return run
}

// runBatch handles a batch a worker took: one message alone, more in one
// unit of work.
func (e *Engine) runBatch(batch []*store.InboundMessage, handled func()) {
	if len(batch) == 1 {
		e.handle(batch[0])
		return
	}
	e.handleBatch(batch, handled)
}

// isClosed reports whether c is closed, without waiting.
func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
