package directory

import (
	"context"

	"github.com/towerbot/towerbot/store"
)

// LoadSnapshot reads and indexes db's directory as a Directory's load does,
// and returns the snapshot, for a benchmark to weigh.
func LoadSnapshot(ctx context.Context, db *store.DB) (any, error) {
	rows, err := db.LoadDirectory(ctx)
	if err != nil {
		return nil, err
	}
	return build(rows, db.Driver() == store.DriverMySQL), nil
}
