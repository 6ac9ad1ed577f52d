package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/towerbot/towerbot/bot"
	"github.com/towerbot/towerbot/config"
	"github.com/towerbot/towerbot/directory"
	"github.com/towerbot/towerbot/seed"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/tower"
)

const seedUsage = "usage: towerbot seed [--config FILE] [--scale city|village] [--seed N] [--bench]\n\n" +
	"Generates a made-up tower at the scale asked for — city: 17 / 473 / 3,067 groups over\n" +
	"three tiers and a group per landlord, 20,000 members, 6,971 landlords with 36,210\n" +
	"rooms and a tenant in each, 30 days of temperatures (about 1.1 million rows), 5,000\n" +
	"errands — into the configured database, which must hold no nodes. With --bench it\n" +
	"then times today's digest of every node and the weekly ranking (on a database seeded\n" +
	"before, it only times them)."

// runSeed is `towerbot seed`.
func runSeed(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return seedWithEnv(ctx, args, os.Environ(), stdout, stderr)
}

func seedWithEnv(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	var (
		scale string
		rnd   uint64
		bench bool
	)
	configPath, _, code, ok := parseConfigFlags("seed", seedUsage, args, stderr, noArgs, func(fs *flag.FlagSet) {
		fs.StringVar(&scale, "scale", "city", "how big: city or village")
		fs.Uint64Var(&rnd, "seed", 1, "random seed (the same seed makes the same data)")
		fs.BoolVar(&bench, "bench", false, "time the digest and the ranking afterwards")
	})
	if !ok {
		return code
	}
	sc, known := seed.Scales[scale]
	if !known {
		fmt.Fprintf(stderr, "towerbot seed: --scale %q is not city or village\n", scale)
		return 2
	}
	cfg, ok := loadConfig("seed", configPath, environ, stderr)
	if !ok {
		return 1
	}
	db, _, ok := openWatchedStore(ctx, "seed", cfg.DB, stdout, stderr)
	if !ok {
		return 1
	}
	defer db.Close()
	loc, err := cfg.Location()
	if err != nil {
		fmt.Fprintf(stderr, "towerbot seed: %v\n", err)
		return 1
	}
	now := time.Now().In(loc)
	bar := newProgressBar(stderr)
	start := time.Now()
	st, err := seed.Load(ctx, db, sc, now, rnd, bar.show)
	bar.done()
	switch {
	case errors.Is(err, seed.ErrNotEmpty) && bench:
		fmt.Fprintln(stdout, "the database holds a tower already: timing it as it is")
	case err != nil:
		fmt.Fprintf(stderr, "towerbot seed: %v\n", err)
		return 1
	default:
		fmt.Fprintf(stdout, "seeded %s in %s: %d nodes, %d groups, %d people (%d tenants), %d temperature rows, %d errands, %d score events, %d messages\n",
			scale, time.Since(start).Round(time.Second), st.Nodes, st.Groups, st.People, st.Tenants, st.Temperatures, st.Errands, st.ScoreEvents, st.Messages)
	}
	if !bench {
		return 0
	}
	if err := benchJobs(ctx, cfg, db, now, stdout); err != nil {
		fmt.Fprintf(stderr, "towerbot seed: %v\n", err)
		return 1
	}
	return 0
}

// benchJobs times what the daily digest and the weekly ranking compute —
// the day's figures of every node and the text of every digest; every
// scope's red/black list with its weeks — over the directory in memory.
func benchJobs(ctx context.Context, cfg config.Config, db *store.DB, now time.Time, stdout io.Writer) error {
	dir, err := directory.New(ctx, db, directory.Config{})
	if err != nil {
		return err
	}
	defer dir.Close()
	tw, err := tower.New(cfg.Rules, dir, bot.NewStoreOutbox(db), nil)
	if err != nil {
		return err
	}
	start := time.Now()
	d, err := tw.DayFigures(ctx, now)
	if err != nil {
		return err
	}
	nodes, err := dir.Nodes(ctx)
	if err != nil {
		return err
	}
	digests := 0
	for _, n := range nodes {
		if n.Tier <= store.TierUnit && tower.DigestText(d, n.ID, n.Tier <= store.TierCommunity) != "" {
			digests++
		}
	}
	fmt.Fprintf(stdout, "digest: %d nodes in %.2f s (%d digest texts)\n", len(nodes), time.Since(start).Seconds(), digests)
	start = time.Now()
	tables, err := tw.WeeklyTables(ctx, now)
	if err != nil {
		return err
	}
	landlords := 0
	for _, t := range tables {
		landlords += t.Landlords
	}
	fmt.Fprintf(stdout, "ranking: %d landlords in %d ms (%d scopes)\n", landlords, time.Since(start).Milliseconds(), len(tables))
	return nil
}

// progressBar draws one line on w: [#####.....] 45% stage 500/1000.
type progressBar struct {
	w     io.Writer
	last  string
	drawn bool
}

func newProgressBar(w io.Writer) *progressBar { return &progressBar{w: w} }

func (p *progressBar) show(stage string, done, total int) {
	if total <= 0 {
		return
	}
	pct := done * 100 / total
	line := fmt.Sprintf("\r[%-30s] %3d%% %-22s %d/%d", strings.Repeat("#", pct*30/100), pct, stage, done, total)
	if line == p.last {
		return
	}
	p.last, p.drawn = line, true
	fmt.Fprint(p.w, line)
}

func (p *progressBar) done() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}
