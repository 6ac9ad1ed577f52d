// Package demo is the demo roster that `make run` loads into an empty
// database, so a fresh clone has a tower to chat in: 北苑街道 (a fictitious
// sub-district of Yiwu) with its leader and commander; two communities,
// 方塘村 and 上河社区, each with a commander and a secretary; four units,
// each with a commander who is also its grid worker; ten landlords, each
// with a landlord node, a house and two or three tenants; and three errand
// agents, all in 方塘村's group. Every phone number is fictitious
// (138000000xx). For the emulators, every node has a WeCom group (chat id
// wr-CODE, robot webhook key demo-CODE) and a DingTalk group (cid + its
// code), and every person a WeCom userid (u and the last two digits of
// their phone) and a DingTalk account (dt + their phone); serve loads a
// platform's groups only when its channel is enabled.
//
// The roster is kept as CSV files in this folder — reviewable text in the
// format `towerbot import` reads — and embedded in the binary.
package demo

import (
	"embed"
	"io/fs"

	"github.com/towerbot/towerbot/roster"
	"github.com/towerbot/towerbot/store"
)

//go:embed *.csv
var files embed.FS

// fileNames are the roster files, in the order they are read.
var fileNames = []string{"nodes.csv", "people.csv", "houses.csv"}

// Roster returns the demo roster, checked, ready for store.DB.ApplyRoster.
func Roster() (store.Roster, error) {
	return roster.ReadFS(files, roster.Options{}, fileNames...)
}

// Files returns the demo roster's CSV files, for anyone who wants to start
// a roster of their own from them.
func Files() fs.FS { return files }
