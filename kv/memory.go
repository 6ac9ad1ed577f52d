package kv

import (
	"context"
	"crypto/rand"
	"sync"
	"time"
)

// sweepEvery is how often Memory drops every expired entry. Reads drop
// the entry they find expired at once; the sweep bounds what is never read
// again (most dedupe marks).
const sweepEvery = time.Minute

// MemoryMaxValues bounds the keys a Memory holds (dedupe marks, locks,
// cached tokens), about 20 MB at most. Past it the oldest key set goes
// first, expired or not: everything kv holds has the database as its
// backstop (a dropped dedupe mark leaves the unique key to dedupe), and
// a platform retries a message within minutes, far less than the time
// 100,000 newer marks take to arrive. So memory does not grow with the
// number of messages handled.
const MemoryMaxValues = 100_000

// Memory is the Store of the embedded set-up: one process, no Redis. It
// keeps nothing across restarts, which is fine because the database is the
// backstop for everything kv does. It starts no goroutine: expired entries
// are swept during writes, at most once a minute by its clock.
type Memory struct {
	now func() time.Time

	mu        sync.Mutex
	values    map[string]memValue
	order     []setKey // keys in the order they were set, oldest first (may hold keys since dropped or set again)
	seq       uint64   // counts sets: which set of a key an order entry is
	max       int      // most values held (MemoryMaxValues)
	windows   map[string]*memWindow
	lastSweep time.Time
	closed    bool
}

type memValue struct {
	value   string
	expires time.Time
	seq     uint64 // the set that made it (see setKey)
}

// setKey is one set of a key: an entry of the order stands for the value
// only while the value's seq is still its own.
type setKey struct {
	key string
	seq uint64
}

// current reports whether k is the set that made the value now held.
func (m *Memory) current(k setKey) bool {
	v, ok := m.values[k.key]
	return ok && v.seq == k.seq
}

// memWindow is a sliding log: the times of the events still in the window,
// oldest first. It holds at most limit entries.
type memWindow struct {
	window time.Duration
	hits   []time.Time
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store reading time from now (tests
// pass a fake clock; production passes time.Now).
func NewMemory(now func() time.Time) *Memory {
	return &Memory{
		now:       now,
		values:    make(map[string]memValue),
		max:       MemoryMaxValues,
		windows:   make(map[string]*memWindow),
		lastSweep: now(),
	}
}

// Len is the number of entries held, expired or not: it shows that sweeping
// bounds memory (tests, metrics).
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.values) + len(m.windows)
}

// begin locks m and returns the time, or ErrClosed. Callers unlock.
func (m *Memory) begin() (time.Time, error) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return time.Time{}, ErrClosed
	}
	now := m.now()
	if now.Sub(m.lastSweep) >= sweepEvery {
		m.sweep(now)
	}
	return now, nil
}

func (m *Memory) sweep(now time.Time) {
	m.lastSweep = now
	for k, v := range m.values {
		if !now.Before(v.expires) {
			delete(m.values, k)
		}
	}
	for k, w := range m.windows {
		if w.prune(now); len(w.hits) == 0 {
			delete(m.windows, k)
		}
	}
}

// put sets key to v, dropping the oldest keys when the store is full.
func (m *Memory) put(key string, v memValue) {
	m.seq++
	v.seq = m.seq
	m.values[key] = v
	m.order = append(m.order, setKey{key, v.seq})
	for len(m.values) > m.max && len(m.order) > 0 {
		if m.current(m.order[0]) {
			delete(m.values, m.order[0].key)
		}
		m.order = m.order[1:]
	}
	// The order also lists keys dropped or set again since: rebuild it
	// from what is held before it grows to twice the bound.
	if len(m.order) > 2*m.max {
		kept := make([]setKey, 0, len(m.values))
		for _, k := range m.order {
			if m.current(k) {
				kept = append(kept, k)
			}
		}
		m.order = kept
	}
}

// live returns key's value when it has not expired, dropping it when it has.
func (m *Memory) live(key string, now time.Time) (memValue, bool) {
	v, ok := m.values[key]
	if ok && !now.Before(v.expires) {
		delete(m.values, key)
		return memValue{}, false
	}
	return v, ok
}

// SetNX implements Store.
func (m *Memory) SetNX(_ context.Context, key string, ttl time.Duration) (bool, error) {
	if err := checkTTL(key, ttl); err != nil {
		return false, err
	}
	now, err := m.begin()
	if err != nil {
		return false, err
	}
	defer m.mu.Unlock()
	if _, ok := m.live(key, now); ok {
		return false, nil
	}
	m.put(key, memValue{value: "1", expires: now.Add(ttl)})
	return true, nil
}

// Delete implements Store.
func (m *Memory) Delete(_ context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if _, err := m.begin(); err != nil {
		return err
	}
	defer m.mu.Unlock()
	delete(m.values, key)
	return nil
}

// Lock implements Store. The holder is identified by a random token, as in
// Redis, so a release after expiry cannot free a later holder's lock.
func (m *Memory) Lock(_ context.Context, key string, ttl time.Duration) (func(context.Context) error, bool, error) {
	if err := checkTTL(key, ttl); err != nil {
		return noRelease, false, err
	}
	now, err := m.begin()
	if err != nil {
		return noRelease, false, err
	}
	defer m.mu.Unlock()
	if _, ok := m.live(key, now); ok {
		return noRelease, false, nil
	}
	token := rand.Text()
	m.put(key, memValue{value: token, expires: now.Add(ttl)})
	release := func(context.Context) error {
		now, err := m.begin()
		if err != nil {
			return err
		}
		defer m.mu.Unlock()
		if v, ok := m.live(key, now); !ok || v.value != token {
			return ErrLockLost
		}
		delete(m.values, key)
		return nil
	}
	return release, true, nil
}

// Allow implements Store.
func (m *Memory) Allow(_ context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error) {
	if err := checkLimit(key, limit, window); err != nil {
		return false, 0, err
	}
	now, err := m.begin()
	if err != nil {
		return false, 0, err
	}
	defer m.mu.Unlock()
	w := m.windows[key]
	if w == nil {
		w = &memWindow{}
		m.windows[key] = w
	}
	w.window = window
	w.prune(now)
	if len(w.hits) < limit {
		w.hits = append(w.hits, now)
		return true, 0, nil
	}
	return false, w.hits[0].Add(window).Sub(now), nil
}

// prune drops the events that have left the window ending at now.
func (w *memWindow) prune(now time.Time) {
	start := now.Add(-w.window)
	i := 0
	for i < len(w.hits) && !w.hits[i].After(start) {
		i++
	}
	if i > 0 {
		w.hits = append(w.hits[:0], w.hits[i:]...)
	}
}

// Get implements Store.
func (m *Memory) Get(_ context.Context, key string) (string, bool, error) {
	if err := checkKey(key); err != nil {
		return "", false, err
	}
	now, err := m.begin()
	if err != nil {
		return "", false, err
	}
	defer m.mu.Unlock()
	v, ok := m.live(key, now)
	return v.value, ok, nil
}

// Set implements Store.
func (m *Memory) Set(_ context.Context, key, value string, ttl time.Duration) error {
	if err := checkTTL(key, ttl); err != nil {
		return err
	}
	now, err := m.begin()
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	m.put(key, memValue{value: value, expires: now.Add(ttl)})
	return nil
}

// SetMany implements Store.
func (m *Memory) SetMany(_ context.Context, values map[string]string, ttl time.Duration) error {
	for k := range values {
		if err := checkTTL(k, ttl); err != nil {
			return err
		}
	}
	now, err := m.begin()
	if err != nil {
		return err
	}
	defer m.mu.Unlock()
	for k, v := range values {
		m.put(k, memValue{value: v, expires: now.Add(ttl)})
	}
	return nil
}

// Close implements Store: it drops everything.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.values, m.windows = nil, nil
	return nil
}
