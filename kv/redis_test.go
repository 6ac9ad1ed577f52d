package kv

import (
	"context"
	"testing"
	"time"
)

// TestRedisLayout checks what other programs sharing the Redis see: every
// key under the prefix, rate limits apart under "allow:" and expiring, and
// rate-limit events scored by the server's clock to the microsecond.
func TestRedisLayout(t *testing.T) {
	open := redisOpener(t)
	r := open(t).(*Redis)
	ctx := context.Background()
	if err := r.Set(ctx, "token", "v", time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, err := r.client.Get(ctx, r.prefix+"token").Result(); err != nil || got != "v" {
		t.Fatalf("raw GET %stoken = %q, %v", r.prefix, got, err)
	}
	if ttl := r.client.PTTL(ctx, r.prefix+"token").Val(); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("PTTL = %v; want within (0, 1m]", ttl)
	}
	for range 3 {
		if _, _, err := r.Allow(ctx, "robot", 10, time.Minute); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	key := r.prefix + "allow:robot"
	scores, err := r.client.ZRangeWithScores(ctx, key, 0, -1).Result()
	if err != nil || len(scores) != 3 {
		t.Fatalf("raw ZRANGE %s = %v, %v; want 3 events", key, scores, err)
	}
	exact := false
	for _, z := range scores {
		if us := int64(z.Score); us%100 != 0 {
			exact = true
		}
		if at := time.UnixMicro(int64(z.Score)); time.Since(at).Abs() > time.Minute {
			t.Errorf("event scored at %v; want about now", at)
		}
	}
	if !exact {
		t.Errorf("all scores are whole multiples of 100 µs: %v", scores)
	}
	if ttl := r.client.PTTL(ctx, key).Val(); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("rate-limit PTTL = %v; want within (0, 1m]", ttl)
	}
}

func BenchmarkRedisAllow(b *testing.B) {
	ctx := context.Background()
	r, err := NewRedis(ctx, RedisOptions{Addr: redisAddr(), Prefix: "towerbot-bench:"})
	if err != nil {
		b.Skipf("SKIPPING REDIS BENCHMARK: %v", err)
	}
	defer r.Close()
	defer r.client.Del(ctx, r.prefix+"allow:robot")
	for b.Loop() {
		if _, _, err := r.Allow(ctx, "robot", 1<<30, time.Second); err != nil {
			b.Fatal(err)
		}
	}
}
