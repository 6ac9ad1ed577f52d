// Command servicecheck prints, one line each, whether the MariaDB/MySQL and
// the Redis that towerbot's tests use answer (and whether the Chromium of
// the browser tests is there), and what the tests will do about it. `make test` runs it first: go test shows nothing of a passing
// package, so tests skipped for want of a database would otherwise go
// unnoticed.
//
// It exits 0 either way: the tests themselves skip, or fail under
// TOWERBOT_REQUIRE_SERVICES=1.
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/towerbot/towerbot/internal/testenv"
)

func main() {
	ctx := context.Background()
	require := testenv.RequireServices()
	report(os.Stdout, require, "MariaDB", testenv.RedactDSN(testenv.MySQLDSN()), "TOWERBOT_TEST_MYSQL_DSN",
		"the MySQL halves of the database tests", testenv.PingMySQL(ctx, testenv.MySQLDSN()))
	report(os.Stdout, require, "Redis", testenv.RedisAddr(), "TOWERBOT_TEST_REDIS_ADDR",
		"the Redis halves of the kv tests", testenv.PingRedis(ctx, testenv.RedisAddr()))
	report(os.Stdout, require, "Chromium", testenv.ChromiumPath(), "TOWERBOT_CHROMIUM",
		"the dashboard's browser tests", testenv.FindChromium())
}

// report prints one service's line.
func report(w io.Writer, require bool, service, where, variable, tests string, err error) {
	switch {
	case err == nil:
		fmt.Fprintf(w, "test services: %s at %s: reachable\n", service, where)
	case require:
		fmt.Fprintf(w, "test services: %s at %s: NOT REACHABLE (%v) — %s will FAIL (TOWERBOT_REQUIRE_SERVICES=1; set %s to use another)\n",
			service, where, err, tests, variable)
	default:
		fmt.Fprintf(w, "test services: %s at %s: NOT REACHABLE (%v) — %s will be SKIPPED (set TOWERBOT_REQUIRE_SERVICES=1 to fail instead, %s to point elsewhere)\n",
			service, where, err, tests, variable)
	}
}
