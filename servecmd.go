package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/bot/dingtalk"
	"github.com/towerbot/towerbot/bot/parse"
	"github.com/towerbot/towerbot/bot/sandbox"
	"github.com/towerbot/towerbot/config"
	"github.com/towerbot/towerbot/deployments/demo"
	"github.com/towerbot/towerbot/directory"
	"github.com/towerbot/towerbot/handlers"
	"github.com/towerbot/towerbot/kv"
	"github.com/towerbot/towerbot/metrics"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/texts"
	"github.com/towerbot/towerbot/tower"
)

// shutdownGrace bounds a graceful stop: finishing requests, handling the
// queued messages and sending what they queued. What is left stays in the
// database (pending messages, outbox items) for the next start.
const shutdownGrace = 20 * time.Second

// runServe is `towerbot serve [--config FILE]`: the bot itself. It wires
// config → store → the directory in memory → kv → handlers → engine →
// channels and outbox senders → HTTP, prints "towerbot: listening on
// http://ADDR/" once it takes messages, and stops gracefully when ctx ends
// (SIGINT, SIGTERM).
func runServe(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return serveWithEnv(ctx, args, os.Environ(), stdout, stderr)
}

// serveWithEnv is runServe with the environment passed in, for tests.
func serveWithEnv(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	configPath, _, code, ok := parseConfigFlags("serve",
		"usage: towerbot serve [--config FILE]\n\nRuns the bot: channels, handlers, outbox, and the sandbox web chat when enabled.",
		args, stderr, noArgs)
	if !ok {
		return code
	}
	cfg, ok := loadConfig("serve", configPath, environ, stderr)
	if !ok {
		return 1
	}
	logger := newLogger(cfg.Log, stderr)
	if err := serve(ctx, cfg, logger, stdout); err != nil {
		logger.Error("towerbot serve stopped", "err", err)
		fmt.Fprintf(stderr, "towerbot serve: %v\n", err)
		return 1
	}
	return 0
}

// newLogger builds the slog logger the config asks for, writing to w.
func newLogger(c config.Log, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.SlogLevel()}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// serve runs the bot until ctx ends.
func serve(ctx context.Context, cfg config.Config, logger *slog.Logger, stdout io.Writer) error {
	loc, err := cfg.Location()
	if err != nil {
		return err
	}
	tuneGC(cfg.MemoryLimitMB)

	db, applied, err := openStore(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, step := range applied {
		logger.Info("applied migration", "step", step)
	}
	if cfg.Demo {
		if err := loadDemo(ctx, db, demoPlatforms(cfg), logger); err != nil {
			return err
		}
	}

	// The directory in memory: the domain, the engine's identify, the
	// sandbox and the senders read nodes, people and groups from it; every
	// other call goes to the store it embeds.
	dir, err := directory.New(ctx, db, directory.Config{Logger: logger.With("part", "directory")})
	if err != nil {
		return err
	}
	defer dir.Close()

	kvs, err := kv.Open(cfg.Redis.Addr, cfg.Redis.Password.Reveal(), cfg.Redis.DB, cfg.Redis.Prefix)
	if err != nil {
		return fmt.Errorf("kv: %w", err)
	}
	defer kvs.Close()

	router := bot.NewRouter()
	outbox := bot.NewStoreOutbox(db)
	domain, err := tower.New(cfg.Rules, dir, outbox, logger.With("part", "tower"))
	if err != nil {
		return err
	}
	handlers.New(domain, logger.With("part", "handlers")).Register(router)
	// The scheduled jobs, over the same domain and outbox; every replica
	// runs the schedule, and each firing runs once (bot/schedule).
	sched, err := newJobScheduler(cfg, db, kvs, domain, logger)
	if err != nil {
		return err
	}

	// The hooks stay nil without metrics: the engine and the senders then
	// report nothing.
	var (
		met             *metrics.Metrics
		observeHandled  func(bot.Handled)
		observeReceived func(bot.Received)
		observeSent     func(bot.Sent)
		observeCallback bot.CallbackObserver
	)
	if cfg.Metrics.Enabled {
		met = metrics.New(db, metrics.Config{Logger: logger.With("part", "metrics")})
		observeHandled, observeReceived, observeSent = met.ObserveHandled, met.ObserveReceived, met.ObserveSent
		observeCallback = met.ObserveCallback
	}

	engine, err := bot.NewEngine(bot.EngineConfig{
		Workers:         cfg.Workers,
		QueueSize:       cfg.QueueSize,
		Parse:           parse.Parse,
		Location:        loc,
		BusyText:        texts.BusyText,
		DirectChatName:  texts.DirectChatName,
		Replica:         cfg.Replica,
		RetryBase:       cfg.Messages.RetryBase,
		RetryMax:        cfg.Messages.RetryMax,
		MaxAttempts:     cfg.Messages.MaxAttempts,
		Observe:         observeHandled,
		ObserveReceived: observeReceived,
		Logger:          logger.With("part", "engine"),
	}, dir, kvs, router, outbox)
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	var channels []bot.Channel
	var sb *sandbox.Sandbox
	if cfg.Sandbox.Enabled {
		sb = sandbox.New(sandbox.Config{
			WriteTimeout: cfg.HTTP.WriteTimeout,
			Logger:       logger.With("part", "sandbox"),
		}, dir, engine)
		if err := sb.Seed(ctx); err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
		channels = append(channels, sb)
		mux.Handle("/", sb.Handler())
	}
	if err := mountDashboard(ctx, cfg, mux, db, dir, domain, kvs, logger, stdout); err != nil {
		return fmt.Errorf("dashboard: %w", err)
	}
	if cfg.WeCom.Enabled {
		ch, callbacks, err := wecomChannel(cfg.WeCom, engine, kvs, observeCallback, logger.With("part", "wecom"))
		if err != nil {
			return fmt.Errorf("wecom: %w", err)
		}
		channels = append(channels, ch)
		mux.Handle("/callback/wecom/", callbacks)
	}
	if cfg.DingTalk.Enabled {
		ding, err := newDingTalk(cfg.DingTalk, engine, kvs, observeCallback, logger.With("part", "dingtalk"))
		if err != nil {
			return fmt.Errorf("dingtalk: %w", err)
		}
		channels = append(channels, ding)
		mux.Handle(dingtalk.CallbackPath, ding.Handler())
	}

	var ready atomic.Bool
	mux.Handle("GET /healthz", healthz(&ready, db.Ping))
	mux.Handle("GET /livez", livez())
	if met != nil {
		mux.Handle("GET /metrics", met.Handler())
	}

	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTP.Addr, err)
	}
	if sb != nil && !onLoopback(ln.Addr()) {
		logger.Warn("the sandbox is on and listens beyond this machine: whoever reaches it can post as any roster member "+
			"(set sandbox.enabled: false, or listen on 127.0.0.1)", "addr", ln.Addr().String())
	}
	ln = limitListener(ln, cfg.HTTP.MaxConnections)
	srv := newHTTPServer(cfg.HTTP, mux, logger)
	if sb != nil {
		srv.RegisterOnShutdown(sb.Close) // end the live event streams
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	if err := engine.Start(ctx); err != nil {
		srv.Close()
		return err
	}
	quietFrom, quietTo, _ := config.ParseQuietHours(cfg.Outbox.QuietHours) // Validate checked it
	sendCtx, stopSenders := context.WithCancel(context.WithoutCancel(ctx))
	var senders []*bot.Sender
	var sending sync.WaitGroup
	for _, ch := range channels {
		s := bot.NewSender(bot.SenderConfig{
			PerMinute:   cfg.Outbox.PerMinute,
			MaxAttempts: cfg.Outbox.MaxAttempts,
			RetryBase:   cfg.Outbox.RetryBase,
			Quiet:       bot.QuietHours{From: quietFrom, To: quietTo, Location: loc},
			Memo:        kvs,
			OnGiveUp: func(ctx context.Context, g bot.GaveUp) error {
				return domain.AlertFailedPost(ctx, g.Item, g.Group, g.Item.Attempts+1)
			},
			Observe: observeSent,
			Replica: cfg.Replica,
			Logger:  logger.With("part", "outbox"),
		}, dir, kvs, ch)
		outbox.Attach(s)
		senders = append(senders, s)
		sending.Add(1)
		go func() { defer sending.Done(); s.Run(sendCtx) }()
	}

	schedCtx, stopSchedule := context.WithCancel(ctx)
	defer stopSchedule()
	sched.Start(schedCtx)

	ready.Store(true)
	logger.Info("towerbot ready", "addr", ln.Addr().String(), "db", cfg.DB.Driver,
		"kv", map[bool]string{true: "memory", false: "redis"}[cfg.Redis.Addr == ""], "sandbox", cfg.Sandbox.Enabled)
	fmt.Fprintf(stdout, "towerbot: listening on http://%s/\n", ln.Addr())

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}

	// Graceful stop: refuse new work, finish the requests in flight, handle
	// what is queued, then send what that queued.
	ready.Store(false)
	logger.Info("towerbot stopping")
	stopSchedule()
	sched.Wait()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("http shutdown", "err", err)
	}
	if err := engine.Shutdown(sctx); err != nil {
		logger.Warn("messages left pending for the next start", "err", err)
	}
	stopSenders()
	sending.Wait()
	for _, s := range senders {
		if _, err := s.Drain(sctx); err != nil {
			logger.Warn("final outbox pass", "err", err)
		}
	}
	logger.Info("towerbot stopped")
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}

// demoPlatforms are the platforms whose demo groups are loaded: those whose
// channel is enabled. A group of another would gather posts in the outbox
// that nothing ever sends.
func demoPlatforms(cfg config.Config) map[string]bool {
	return map[string]bool{string(bot.WeCom): cfg.WeCom.Enabled, string(bot.DingTalk): cfg.DingTalk.Enabled}
}

// loadDemo applies the demo roster when the database has no nodes yet, so
// that a fresh `make run` has groups to chat in, with the groups of the
// platforms in platforms; an existing roster is never touched.
func loadDemo(ctx context.Context, db *store.DB, platforms map[string]bool, logger *slog.Logger) error {
	nodes, err := db.Nodes(ctx)
	if err != nil {
		return err
	}
	if len(nodes) > 0 {
		return nil
	}
	r, err := demo.Roster()
	if err != nil {
		return fmt.Errorf("demo roster: %w", err)
	}
	for i := range r.Nodes {
		r.Nodes[i].Groups = slices.DeleteFunc(r.Nodes[i].Groups, func(g store.RosterGroup) bool { return !platforms[g.Platform] })
	}
	stats, err := db.ApplyRoster(ctx, r)
	if err != nil {
		return fmt.Errorf("demo roster: %w", err)
	}
	args := []any{}
	for _, k := range stats.Kinds() {
		args = append(args, k.Kind, k.Created)
	}
	logger.Info("loaded the demo roster", args...)
	return nil
}

// livez answers 200 as long as the process serves HTTP at all: what a
// liveness probe asks. It does not look at the database — while the
// database is down every replica is unready (healthz), and restarting them
// would not bring it back; it would only lose the messages they hold.
func livez() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintln(w, "ok")
	})
}

// healthz answers 200 once the server takes messages and its database
// answers, and 503 before that, while shutting down, or when the database
// is unreachable — what a load balancer or Kubernetes probe needs to send
// traffic only to replicas that can store it.
func healthz(ready *atomic.Bool, ping func(context.Context) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if !ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "starting or stopping")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := ping(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "database unreachable")
			return
		}
		fmt.Fprintln(w, "ok")
	})
}

// tuneGC sets the collector for a server whose live heap is small (the
// directory, the queues): the heap may grow to three times what is live
// between collections rather than twice — half as many of them, about a
// sixth less of towerbot's CPU per message in BenchmarkPipeline — within a
// soft limit of limitMB MiB, near which the collector works harder. GOGC
// and GOMEMLIMIT in the environment win: the runtime has read them.
func tuneGC(limitMB int) {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(200)
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(int64(limitMB) << 20)
	}
}
