// Package kv is the small shared state towerbot keeps outside its database:
// first-seen marks that dedupe platform retries, locks so that one replica
// runs each scheduled firing, per-destination rate limits for the platforms'
// "20 messages a minute per robot", and a cache for access tokens.
//
// Everything here may be lost without harm: the database's unique keys are
// the backstop for dedupe and job runs. Redis holds it in production, so
// that replicas share it; process memory holds it in the embedded set-up.
// Both implementations pass one test suite.
package kv

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Store is the interface towerbot uses. Keys are free-form strings; callers
// namespace them ("dedupe:wecom:MSGID", "lock:job:digest:2020-02-24T08:00").
// SetNX, Set, Get, Delete and Lock share one key space; Allow counts in a
// space of its own. Every key expires: a zero or negative ttl is an error,
// so nothing grows without bound.
//
// Implementations are safe for concurrent use.
type Store interface {
	// SetNX marks key for ttl and reports whether it was absent: true the
	// first time a key is seen within ttl, false after.
	SetNX(ctx context.Context, key string, ttl time.Duration) (bool, error)
	// Delete removes key (a mark, a value or a lock, whoever holds it), so
	// that a message whose handling failed can be processed when retried.
	Delete(ctx context.Context, key string) error
	// Lock takes key for ttl when it is free. ok reports whether it was
	// taken; release frees it only while this caller still holds it (it
	// returns ErrLockLost once the ttl has passed and another may hold it)
	// and is a no-op when ok is false. A lock is never extended: pick a ttl
	// longer than the work.
	Lock(ctx context.Context, key string, ttl time.Duration) (release func(context.Context) error, ok bool, err error)
	// Allow counts one event for key in a sliding window: ok when fewer
	// than limit events were counted in the last window (and then this one
	// is counted), otherwise not counted, with retryAfter the wait until
	// the oldest event leaves the window.
	Allow(ctx context.Context, key string, limit int, window time.Duration) (ok bool, retryAfter time.Duration, err error)
	// Get returns the value of key; ok is false when it is absent or expired.
	Get(ctx context.Context, key string) (value string, ok bool, err error)
	// Set stores value under key for ttl, replacing what was there.
	Set(ctx context.Context, key, value string, ttl time.Duration) error
	// SetMany is Set for each key of values, all for ttl, in one round
	// trip: how a batch of stored messages marks itself at once. Nothing
	// is stored when a key or the ttl is refused; on a failure midway some
	// keys may be set (each mark stands alone).
	SetMany(ctx context.Context, values map[string]string, ttl time.Duration) error
	// Close releases the store's resources; later calls fail with ErrClosed.
	Close() error
}

// Errors callers test for with errors.Is.
var (
	// ErrLockLost is returned by a release func when the lock expired and
	// may have been taken by someone else: the work ran unprotected for a while.
	ErrLockLost = errors.New("kv: lock no longer held")
	// ErrClosed is returned by every method after Close.
	ErrClosed = errors.New("kv: store is closed")
)

// DefaultPrefix is put before every key Open stores in Redis when it is
// given none (config redis.prefix), so that a Redis shared with other
// programs keeps towerbot's keys apart.
const DefaultPrefix = "towerbot:"

// Open returns the store for a configuration: in process memory when addr
// is empty (one process only), otherwise the Redis at addr, which must
// answer a PING within five seconds, with every key under prefix
// (DefaultPrefix when empty).
func Open(addr, password string, db int, prefix string) (Store, error) {
	if addr == "" {
		return NewMemory(time.Now), nil
	}
	if prefix == "" {
		prefix = DefaultPrefix
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return NewRedis(ctx, RedisOptions{Addr: addr, Password: password, DB: db, Prefix: prefix})
}

// checkKey and checkTTL refuse the arguments that would make a key
// unreachable or immortal.
func checkKey(key string) error {
	if key == "" {
		return errors.New("kv: empty key")
	}
	return nil
}

func checkTTL(key string, ttl time.Duration) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if ttl <= 0 {
		return fmt.Errorf("kv: ttl %s for %q is not positive", ttl, key)
	}
	return nil
}

func checkLimit(key string, limit int, window time.Duration) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if limit <= 0 || window <= 0 {
		return fmt.Errorf("kv: rate limit %d per %s for %q is not positive", limit, window, key)
	}
	return nil
}

// noRelease is the release func of a lock that was not taken.
func noRelease(context.Context) error { return nil }
