package kv

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Redis is the Store shared by replicas. Each operation is one atomic
// command or script, so two replicas racing for a mark, a lock or the last
// slot of a rate limit never both win.
type Redis struct {
	client *redis.Client
	prefix string
	// instance and seq name each rate-limit event, so that two events in
	// the same microsecond are distinct sorted-set members.
	instance string
	seq      atomic.Uint64
}

var _ Store = (*Redis)(nil)

// RedisOptions say where Redis is and how towerbot's keys are named there.
type RedisOptions struct {
	Addr     string // host:port
	Password string
	DB       int
	// Prefix goes before every key (Open uses DefaultPrefix; tests use a
	// prefix per run so parallel runs never collide).
	Prefix string
}

// NewRedis connects to Redis and checks that it answers within ctx.
func NewRedis(ctx context.Context, opts RedisOptions) (*Redis, error) {
	client := redis.NewClient(&redis.Options{
		Addr:     opts.Addr,
		Password: opts.Password,
		DB:       opts.DB,
		// The connection handshake stays plain RESP2 commands that every
		// Redis 6+ (and compatible servers) accepts.
		Protocol:                 2,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
		DialTimeout:              3 * time.Second,
		ReadTimeout:              3 * time.Second,
		WriteTimeout:             3 * time.Second,
	})
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("kv: redis at %s: %w", opts.Addr, err)
	}
	return &Redis{client: client, prefix: opts.Prefix, instance: rand.Text()[:12]}, nil
}

// fail maps the client's errors onto the package's.
func fail(err error) error {
	if errors.Is(err, redis.ErrClosed) {
		return ErrClosed
	}
	return fmt.Errorf("kv: redis: %w", err)
}

// ms is ttl in whole milliseconds, at least 1 (Redis's PX unit).
func ms(ttl time.Duration) int64 { return max(1, ttl.Milliseconds()) }

// SetNX implements Store with SET key 1 NX PX ttl.
func (r *Redis) SetNX(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if err := checkTTL(key, ttl); err != nil {
		return false, err
	}
	err := r.client.Do(ctx, "SET", r.prefix+key, "1", "NX", "PX", ms(ttl)).Err()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, fail(err)
	}
	return true, nil
}

// Delete implements Store.
func (r *Redis) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := r.client.Del(ctx, r.prefix+key).Err(); err != nil {
		return fail(err)
	}
	return nil
}

// unlockScript deletes the lock only while it still holds our token.
var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)

// Lock implements Store with SET key TOKEN NX PX ttl and a token-checked
// delete to release.
func (r *Redis) Lock(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, bool, error) {
	if err := checkTTL(key, ttl); err != nil {
		return noRelease, false, err
	}
	full, token := r.prefix+key, rand.Text()
	err := r.client.Do(ctx, "SET", full, token, "NX", "PX", ms(ttl)).Err()
	if errors.Is(err, redis.Nil) {
		return noRelease, false, nil
	}
	if err != nil {
		return noRelease, false, fail(err)
	}
	release := func(ctx context.Context) error {
		n, err := unlockScript.Run(ctx, r.client, []string{full}, token).Int()
		if err != nil {
			return fail(err)
		}
		if n == 0 {
			return ErrLockLost
		}
		return nil
	}
	return release, true, nil
}

// allowScript is a sliding-window log in a sorted set scored by the
// server's clock in microseconds, so replicas with skewed clocks agree.
// It returns {1, 0} when the event is counted, or {0, µs until the oldest
// event leaves the window}. (redis.call passes Lua numbers with 17
// significant digits, so microsecond times stay exact.)
var allowScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))
  return {1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, tonumber(oldest[2]) + window - now}`)

// Allow implements Store. Its keys live under "<prefix>allow:" so that they
// never meet the string keys of SetNX, Set and Lock.
func (r *Redis) Allow(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error) {
	if err := checkLimit(key, limit, window); err != nil {
		return false, 0, err
	}
	member := r.instance + ":" + strconv.FormatUint(r.seq.Add(1), 36)
	res, err := allowScript.Run(ctx, r.client, []string{r.prefix + "allow:" + key},
		limit, max(1, window.Microseconds()), member).Int64Slice()
	if err != nil {
		return false, 0, fail(err)
	}
	if len(res) != 2 {
		return false, 0, fmt.Errorf("kv: redis: rate-limit script returned %v", res)
	}
	if res[0] == 1 {
		return true, 0, nil
	}
	return false, time.Duration(max(1, res[1])) * time.Microsecond, nil
}

// Get implements Store.
func (r *Redis) Get(ctx context.Context, key string) (string, bool, error) {
	if err := checkKey(key); err != nil {
		return "", false, err
	}
	v, err := r.client.Get(ctx, r.prefix+key).Result()
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fail(err)
	}
	return v, true, nil
}

// Set implements Store.
func (r *Redis) Set(ctx context.Context, key, value string, ttl time.Duration) error {
	if err := checkTTL(key, ttl); err != nil {
		return err
	}
	if err := r.client.Do(ctx, "SET", r.prefix+key, value, "PX", ms(ttl)).Err(); err != nil {
		return fail(err)
	}
	return nil
}

// SetMany implements Store: one pipeline of SETs.
func (r *Redis) SetMany(ctx context.Context, values map[string]string, ttl time.Duration) error {
	for k := range values {
		if err := checkTTL(k, ttl); err != nil {
			return err
		}
	}
	if len(values) == 0 {
		return nil
	}
	pipe := r.client.Pipeline()
	for k, v := range values {
		pipe.Do(ctx, "SET", r.prefix+k, v, "PX", ms(ttl))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fail(err)
	}
	return nil
}

// Close implements Store.
func (r *Redis) Close() error {
	if err := r.client.Close(); err != nil && !errors.Is(err, redis.ErrClosed) {
		return fail(err)
	}
	return nil
}
