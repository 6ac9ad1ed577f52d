package kv

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestMemorySweeps proves that the embedded store does not grow without
// bound: marks and rate-limit logs that expire are dropped even if never
// read again.
func TestMemorySweeps(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	m := NewMemory(clock.Now)
	for i := range 1000 {
		if _, err := m.SetNX(ctx, fmt.Sprintf("dedupe:%d", i), 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if _, _, err := m.Allow(ctx, fmt.Sprintf("robot:%d", i), 20, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if got := m.Len(); got != 2000 {
		t.Fatalf("Len = %d; want 2000", got)
	}
	clock.Advance(30 * time.Second)
	m.SetNX(ctx, "dedupe:new", time.Hour) // before a sweep is due: nothing dropped yet
	if got := m.Len(); got != 2001 {
		t.Fatalf("Len before the sweep = %d; want 2001", got)
	}
	clock.Advance(31 * time.Second) // past sweepEvery and every window
	m.SetNX(ctx, "dedupe:newer", time.Hour)
	if got := m.Len(); got != 2 {
		t.Fatalf("Len after the sweep = %d; want 2 (only the live marks)", got)
	}
}

// TestMemoryRetryAfter pins the sliding window's arithmetic on the fake clock.
func TestMemoryRetryAfter(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	m := NewMemory(clock.Now)
	for i := range 20 {
		if ok, _, _ := m.Allow(ctx, "robot", 20, time.Minute); !ok {
			t.Fatalf("event %d refused", i+1)
		}
		clock.Advance(time.Second)
	}
	// Events at 0s..19s; now is 20s: the first leaves at 60s.
	ok, wait, _ := m.Allow(ctx, "robot", 20, time.Minute)
	if ok || wait != 40*time.Second {
		t.Fatalf("Allow = %v, %v; want refused for 40s", ok, wait)
	}
	clock.Advance(40 * time.Second)
	if ok, _, _ := m.Allow(ctx, "robot", 20, time.Minute); !ok {
		t.Fatal("refused once the first event left the window")
	}
	if ok, wait, _ := m.Allow(ctx, "robot", 20, time.Minute); ok || wait != time.Second {
		t.Fatalf("Allow = %v, %v; want refused for 1s", ok, wait)
	}
}

func BenchmarkMemorySetNX(b *testing.B) {
	m := NewMemory(time.Now)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		m.SetNX(ctx, fmt.Sprintf("dedupe:%d", i), time.Hour)
	}
}

func BenchmarkMemoryAllow(b *testing.B) {
	m := NewMemory(time.Now)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		m.Allow(ctx, fmt.Sprintf("robot:%d", i%1000), 20, time.Minute)
	}
}

// TestMemoryIsBounded proves that marks that have not expired are bounded
// too: past MemoryMaxValues the oldest go first, deleted and re-set keys
// included, and the newest stay.
func TestMemoryIsBounded(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(newClock().Now)
	m.max = 100
	for i := range 1000 {
		key := fmt.Sprintf("dedupe:%d", i)
		if _, err := m.SetNX(ctx, key, 24*time.Hour); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 { // deleted and set again: one key, not two
			m.Delete(ctx, key)
			m.Set(ctx, key, "stored:1", 24*time.Hour)
		}
	}
	if got := len(m.values); got != 100 {
		t.Fatalf("values held = %d; want the bound, 100", got)
	}
	if len(m.order) > 2*m.max {
		t.Fatalf("order holds %d keys; want at most %d", len(m.order), 2*m.max)
	}
	for i := range 1000 {
		_, ok, _ := m.Get(ctx, fmt.Sprintf("dedupe:%d", i))
		if want := i >= 900; ok != want {
			t.Fatalf("dedupe:%d held = %v; want %v (only the newest 100)", i, ok, want)
		}
	}
}
