package handlers_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/config"
	"github.com/towerbot/towerbot/directory"
	"github.com/towerbot/towerbot/handlers"
	"github.com/towerbot/towerbot/kv"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/tower"
)

// liveEngine is the real engine, handlers and domain over an in-memory
// directory of e's database, running until the test ends, at monday.
type liveEngine struct {
	t   *testing.T
	db  *store.DB
	dir *directory.Directory
	eng *bot.Engine
	n   atomic.Int64
}

// startLiveEngine starts it; cfg's clock is set to monday.
func startLiveEngine(t *testing.T, e *env, db *store.DB, cfg bot.EngineConfig) *liveEngine {
	t.Helper()
	ctx := context.Background()
	dir, err := directory.New(ctx, db, directory.Config{Now: func() time.Time { return monday }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dir.Close)
	domain, err := tower.New(config.Default().Rules, dir, bot.NewStoreOutbox(db), nil)
	if err != nil {
		t.Fatal(err)
	}
	e.r = bot.NewRouter()
	handlers.New(domain, nil).Register(e.r)
	cfg.Now = func() time.Time { return monday }
	eng, err := bot.NewEngine(cfg, dir, kv.NewMemory(time.Now), e.r, bot.NewStoreOutbox(db))
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		eng.Shutdown(sctx)
	})
	return &liveEngine{t: t, db: db, dir: dir, eng: eng}
}

// send submits m (numbered when it has no id, @-mentioning the bot, at
// monday), waits until it is handled, and returns it as stored with the
// posts it caused.
func (l *liveEngine) send(m bot.Message) (*store.InboundMessage, []store.OutboxItem) {
	l.t.Helper()
	ctx := context.Background()
	if m.ID == "" {
		m.ID = "live" + strconv.FormatInt(l.n.Add(1), 10)
	}
	m.Mentioned, m.Time = true, monday
	done, err := l.eng.Submit(ctx, m)
	if err != nil {
		l.t.Fatal(err)
	}
	id := (<-done).LogID
	stored, err := l.db.InboundByID(ctx, id)
	if err != nil {
		l.t.Fatal(err)
	}
	posts, err := l.db.OutboxByMessage(ctx, id)
	if err != nil {
		l.t.Fatal(err)
	}
	return stored, posts
}
