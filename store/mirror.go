package store

import (
	"context"
	"fmt"
	"strconv"

	"gorm.io/gorm/clause"
)

// MirrorStats counts what MirrorRoster created or renamed.
type MirrorStats struct {
	Groups, Renamed, Identities int
}

// MirrorRoster gives a channel whose groups and accounts are the roster
// itself (the local sandbox chat) one group per node — chat id the node's
// code, named as the node, bound to it — and one account per person — user
// id the person's id. What is there already stays; a group follows its
// node's new name. It is how such a channel seats anyone of the roster
// without platform accounts, and it never touches another platform's
// groups or accounts (nor the roster's own platforms: it refuses them).
// When it adds or renames anything it bumps the directory's version in
// the same transaction; a call that finds all in place writes nothing.
func (db *DB) MirrorRoster(ctx context.Context, platform string) (MirrorStats, error) {
	var st MirrorStats
	if platform == "" || rosterPlatform(platform) || len(platform) > 16 {
		return st, fmt.Errorf("store: mirror roster: %q is not a platform to mirror the roster on", platform)
	}
	err := db.Atomic(ctx, func(ctx context.Context) error {
		tx := db.q(ctx)
		st = MirrorStats{}
		var nodes []Node
		if err := tx.Order("id").Find(&nodes).Error; err != nil {
			return err
		}
		var groups []Group
		if err := tx.Where("platform = ?", platform).Find(&groups).Error; err != nil {
			return err
		}
		byChat := make(map[string]Group, len(groups))
		for _, g := range groups {
			byChat[g.ChatID] = g
		}
		var add []Group
		for _, n := range nodes {
			g, ok := byChat[n.Code]
			switch {
			case !ok:
				id := n.ID
				add = append(add, Group{Platform: platform, ChatID: n.Code, Name: n.Name, NodeID: &id})
			case g.Name != n.Name && g.NodeID != nil && *g.NodeID == n.ID:
				if err := tx.Model(&Group{}).Where("id = ?", g.ID).
					Updates(map[string]any{"name": n.Name, "updated_at": db.Now()}).Error; err != nil {
					return err
				}
				st.Renamed++
			}
		}
		if len(add) > 0 {
			res := tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(&add, chunk)
			if res.Error != nil {
				return res.Error
			}
			st.Groups = len(add)
		}
		var people []int64
		if err := tx.Model(&Person{}).Order("id").Pluck("id", &people).Error; err != nil {
			return err
		}
		var have []string
		if err := tx.Model(&Identity{}).Where("platform = ?", platform).Pluck("user_id", &have).Error; err != nil {
			return err
		}
		seen := make(map[string]bool, len(have))
		for _, uid := range have {
			seen[uid] = true
		}
		var ids []Identity
		for _, id := range people {
			uid := strconv.FormatInt(id, 10)
			if !seen[uid] {
				ids = append(ids, Identity{Platform: platform, UserID: uid, PersonID: id})
			}
		}
		if len(ids) > 0 {
			if err := tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(&ids, chunk).Error; err != nil {
				return err
			}
			st.Identities = len(ids)
		}
		if st.Groups+st.Renamed+st.Identities == 0 {
			return nil // nothing changed: the copies of the directory stay current
		}
		return db.directoryChanged(ctx)
	})
	if err != nil {
		return MirrorStats{}, fmt.Errorf("store: mirror roster on %s: %w", platform, err)
	}
	return st, nil
}
