package tower

import (
	"context"
	"fmt"

	"github.com/towerbot/towerbot/pii"
	"github.com/towerbot/towerbot/store"
	"github.com/towerbot/towerbot/texts"
)

// AlertFailedPost tells the commanders of the node whose group g a post
// could not reach, after attempts tries, that it was not delivered. The
// group itself is what failed, so the alert goes to the nearest group
// above it (where the node's commanders sit with the commanders above),
// mentioning the node's commanders — or, when the node has none, those of
// the nearest node above that has some; only a root node's group, with
// nothing above it, is told in itself. The alert is keyed by the failed
// post (store.FailedPostOrigin), so it is queued once however often this
// runs; the sender never alerts on an alert's own failure.
//
// A group that is gone or bound to no node has nobody to tell: the post's
// failure stays in the outbox and the log.
func (t *Tower) AlertFailedPost(ctx context.Context, it store.OutboxItem, g *store.Group, attempts int) error {
	if g == nil || g.NodeID == nil {
		return nil
	}
	commanders, err := t.st.PeopleWithRole(ctx, *g.NodeID, store.RoleCommander)
	if err != nil {
		return err
	}
	if len(commanders) == 0 {
		r, err := t.nearestReachable(ctx, *g.NodeID, store.RoleCommander, true)
		if err != nil {
			return err
		}
		if r != nil {
			commanders = r.People
		}
	}
	targets, err := t.groupsAbove(ctx, *g.NodeID, g.ID)
	if err != nil {
		return err
	}
	if len(targets) == 0 {
		targets = []store.Group{*g}
	}
	text := fmt.Sprintf(texts.PostFailed, g.Name, attempts, texts.Quote(it.Text, 40))
	var items []store.OutboxItem
	for _, to := range targets {
		ids, names, err := t.mentions(ctx, to.Platform, commanders...)
		if err != nil {
			return err
		}
		body := text
		if names != "" {
			body = names + " " + text
		}
		items = append(items, store.OutboxItem{Origin: store.FailedPostOrigin(it.ID), GroupID: to.ID,
			Platform: to.Platform, Text: pii.Mask(body), Mentions: ids.Unique()})
	}
	return t.out.Enqueue(ctx, items...)
}

// groupsAbove returns the groups of the nearest node above nodeID that has
// any, other than group except; none when no node above has one.
func (t *Tower) groupsAbove(ctx context.Context, nodeID, except int64) ([]store.Group, error) {
	up, err := t.st.Ancestors(ctx, nodeID)
	if err != nil {
		return nil, err
	}
	for _, n := range up {
		gs, err := t.st.GroupsOfNodes(ctx, n.ID)
		if err != nil {
			return nil, err
		}
		var out []store.Group
		for _, g := range gs {
			if g.ID != except {
				out = append(out, g)
			}
		}
		if len(out) > 0 {
			return out, nil
		}
	}
	return nil, nil
}
