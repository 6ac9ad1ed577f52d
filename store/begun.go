package store

import (
	"context"
	"sync"
	"time"

	"gorm.io/gorm"
)

// Transactions begun ahead. On MySQL a BEGIN is a round trip of its own,
// and under load one of the longest on a unit's way (the server thread
// that answers it waits for a core like any other): a worker's batch
// waited most of a millisecond for it. So as a unit of work begins, the
// store begins the next one's transaction beside it and parks it; the
// next Atomic takes it, its BEGIN already answered. A parked transaction
// has read and written nothing: it holds no lock and no snapshot (READ
// COMMITTED), only a connection — parkedMax of them at most. One parked
// longer than parkedFor is rolled back rather than used, so a connection
// the server closed meanwhile (an idle timeout, a restart) is not handed
// to a unit. SQLite, in-process, has no round trip to save and one
// connection to keep free: nothing is parked there.

// parkedMax is how many transactions wait begun at most: as many as a
// worker has batches under way, and one for the sender or a job.
const parkedMax = 3

// parkedFor is how long a parked transaction may wait to be used.
const parkedFor = 2 * time.Second

// parked is a transaction begun ahead, and when.
type parked struct {
	tx *gorm.DB
	at time.Time
}

// parking holds the transactions begun ahead.
type parking struct {
	mu      sync.Mutex
	waiting []parked
	// beginning counts the transactions being begun to be parked.
	beginning int
	closed    bool
	maxAge    time.Duration // parkedFor; tests shorten it
}

// begin returns a transaction for a unit of work running with ctx: a
// parked one when one is fresh, else one begun now.
func (db *DB) begin(ctx context.Context) *gorm.DB {
	if db.driver != DriverMySQL {
		return db.gdb.WithContext(ctx).Begin()
	}
	p := &db.parking
	p.mu.Lock()
	var stale []parked
	fresh := p.waiting[:0]
	for _, w := range p.waiting {
		if time.Since(w.at) < p.age() {
			fresh = append(fresh, w)
		} else {
			stale = append(stale, w)
		}
	}
	p.waiting = fresh
	var tx *gorm.DB
	if n := len(p.waiting); n > 0 { // the latest begun
		tx = p.waiting[n-1].tx
		p.waiting = p.waiting[:n-1]
	}
	p.mu.Unlock()
	if len(stale) > 0 {
		go rollBack(stale)
	}
	if tx != nil {
		return tx
	}
	return db.gdb.WithContext(ctx).Begin()
}

// parkNext begins a transaction beside the caller and parks it for the
// next unit of work, unless enough wait already.
func (db *DB) parkNext() {
	if db.driver != DriverMySQL {
		return
	}
	p := &db.parking
	p.mu.Lock()
	if p.closed || len(p.waiting)+p.beginning >= parkedMax {
		p.mu.Unlock()
		return
	}
	p.beginning++
	p.mu.Unlock()
	go func() {
		tx := db.gdb.Begin()
		p.mu.Lock()
		defer p.mu.Unlock()
		p.beginning--
		switch {
		case tx.Error != nil:
			// The next unit begins its own, and fails as it would have.
		case p.closed:
			go tx.Rollback()
		default:
			p.waiting = append(p.waiting, parked{tx: tx, at: time.Now()})
		}
	}()
}

// age is how long a parked transaction may wait to be used.
func (p *parking) age() time.Duration {
	if p.maxAge > 0 {
		return p.maxAge
	}
	return parkedFor
}

// closeParking rolls back the parked transactions and parks no more.
func (db *DB) closeParking() {
	p := &db.parking
	p.mu.Lock()
	waiting := p.waiting
	p.waiting, p.closed = nil, true
	p.mu.Unlock()
	rollBack(waiting)
}

func rollBack(ps []parked) {
	for _, w := range ps {
		w.tx.Rollback()
	}
}
