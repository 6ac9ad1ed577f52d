package tower

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/towerbot/towerbot/pii"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/texts"
)

// Job names: a contract between the config, `towerbot job`, the run
// records and the origins of the posts.
const (
	JobDailyDigest         = "daily-digest"
	JobWeeklyRanking       = "weekly-ranking"
	JobOverdue             = "overdue"
	JobTemperatureReminder = "temperature-reminder"
	JobQuarantineReminder  = "quarantine-reminder"
)

// maxFeverNames is how many fever names a digest gives before it counts
// the rest.
const maxFeverNames = 20

// digestTier reports whether the groups of tier get the daily digest: the
// sub-district, communities and units. A landlord's group is one house;
// its tenants hear the temperature reminder instead.
func digestTier(tier int) bool { return tier >= store.TierSubDistrict && tier <= store.TierUnit }

// namesFever reports whether a digest for a node of tier names the people
// with a fever. Tier-1 and tier-2 groups are leaders' and commanders'
// groups; a unit's group also holds its landlords and shop heads, so it
// is told how many, not who (the fever alert itself went to the unit's
// commanders when it was reported).
func namesFever(tier int) bool { return tier <= store.TierCommunity }

// DigestText writes the figures of node id's subtree as the digest and 汇总
// post them: the subtree's totals, then a line per child node (and one
// for the node's own records, when it has any), so a leader sees which
// part lags. The child lines with the own line sum to the totals. Fever
// names are given when names is true.
func DigestText(d *DayFigures, id int64, names bool) string {
	n, _ := d.Node(id)
	f := d.Figures(id)
	var b strings.Builder
	line := func(format string, args ...any) {
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, format, args...)
	}
	line(texts.DigestTitle, n.Name, texts.DateLabel(d.Day, d.At))
	line(texts.DigestTemperature, f.Reported, f.Expected, texts.Coverage(f.Coverage()), f.Readings, f.Fevers)
	if names && f.Fevers > 0 {
		var who []string
		fevers := d.FeversUnder(id)
		for i, r := range fevers {
			if i == maxFeverNames {
				who = append(who, fmt.Sprintf(texts.DigestFeverMore, len(fevers)))
				break
			}
			at, _ := d.Node(r.NodeID)
			who = append(who, fmt.Sprintf("%s %.1f℃(%s)", r.Name, r.Celsius, at.Name))
		}
		line(texts.DigestFeverNames, joinNames(who))
	}
	provinces := ""
	if ps := f.Provinces(); len(ps) > 0 {
		var parts []string
		for _, p := range ps {
			parts = append(parts, fmt.Sprintf("%s %d", p, f.ByProvince[p]))
		}
		provinces = "(" + joinNames(parts) + ")"
	}
	line(texts.DigestReturns, f.Returns, provinces)
	line(texts.DigestQuarantine, f.InQuarantine, f.QuarantineEnding)
	line(texts.DigestErrands, f.ErrandsOpened, f.ErrandsClaimed, f.ErrandsDone, f.ErrandsOverdue)
	line(texts.DigestDirectives, f.DirectivesAnswered, f.DirectivesAnswered+f.DirectivesOutstanding, f.DirectivesOutstanding)
	line(texts.DigestDisinfection, f.Disinfected, f.Disinfected+f.DisinfectionMissing, f.DisinfectionMissing)
	kids := d.Children(id)
	own := d.Own[id]
	if len(kids) > 0 {
		line(texts.DigestChildren)
		for _, k := range kids {
			line("%s", childLine(k.Name, d.Figures(k.ID)))
		}
		if !own.Empty() {
			line("%s", childLine(texts.DigestOwn, own))
		}
	}
	return b.String()
}

func childLine(name string, f Figures) string {
	return fmt.Sprintf(texts.DigestChildLine, name, texts.Coverage(f.Coverage()), f.Fevers, f.Returns,
		f.InQuarantine, f.ErrandsOverdue, f.DirectivesOutstanding, f.DisinfectionMissing)
}

// Summary is 汇总: the day's figures of node's subtree as of at, the same
// figures and text as the daily digest to node's group (fever names as
// the digest gives them there).
func (t *Tower) Summary(ctx context.Context, node store.Node, at time.Time) (string, error) {
	d, err := t.DayFigures(ctx, at)
	if err != nil {
		return "", err
	}
	return pii.Mask(DigestText(d, node.ID, namesFever(node.Tier))), nil
}

// DailyDigest posts the day's digest (DigestText) to every group of a
// node of tiers 1–3, as of at, for the firing key firing: one grouped pass
// per table for the whole tower, then the texts. It returns how many posts
// it queued — all in one unit of work, so a failure queues none.
func (t *Tower) DailyDigest(ctx context.Context, at time.Time, firing string) (int, error) {
	d, err := t.DayFigures(ctx, at)
	if err != nil {
		return 0, err
	}
	var ids []int64
	for id, n := range d.nodes {
		if digestTier(n.Tier) {
			ids = append(ids, id)
		}
	}
	groups, err := t.st.GroupsOfNodes(ctx, ids...)
	if err != nil {
		return 0, err
	}
	var items []store.OutboxItem
	for _, g := range groups {
		n, _ := d.Node(*g.NodeID)
		items = append(items, jobPost(g, JobDailyDigest, firing, DigestText(d, n.ID, namesFever(n.Tier))))
	}
	return t.enqueue(ctx, items)
}

// jobPost is the post of one text to group g at a firing of job, keyed by
// the firing. A text longer than the platform takes is sent in parts by
// the channel (bot.SendParts), so a post is one outbox item however long.
func jobPost(g store.Group, job, firing, text string) store.OutboxItem {
	return store.OutboxItem{Origin: store.JobOrigin(job, firing), GroupID: g.ID, Platform: g.Platform, Text: text}
}

// enqueue queues a job's posts in one unit of work and returns how many
// it queued: a post already queued under its origin (an earlier run of
// the firing, or of the fact it is about) is left out and not counted.
func (t *Tower) enqueue(ctx context.Context, items []store.OutboxItem) (int, error) {
	if len(items) == 0 {
		return 0, nil
	}
	for i := range items {
		items[i].Text = pii.Mask(items[i].Text)
	}
	n := 0
	err := t.st.Atomic(ctx, func(ctx context.Context) error {
		fresh, err := t.st.NotQueued(ctx, items)
		if err != nil {
			return err
		}
		n = len(fresh)
		for from := 0; from < len(fresh); from += 500 {
			if err := t.out.Enqueue(ctx, fresh[from:min(from+500, len(fresh))]...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
