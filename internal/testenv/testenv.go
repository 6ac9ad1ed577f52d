// Package testenv names the services towerbot's tests use — MariaDB/MySQL
// and Redis — and checks whether they answer. The store tests (through
// store/storetest), the kv tests and `make test`'s service check all read
// the addresses here, so what `make test` reports is what the tests use.
//
//   - TOWERBOT_TEST_MYSQL_DSN: a go-sql-driver DSN whose user may create and
//     drop databases (each test makes one of its own); default
//     root@tcp(127.0.0.1:3306)/test.
//   - TOWERBOT_TEST_REDIS_ADDR: host:port of a Redis without a password
//     (each test keeps its keys under a prefix of its own); default
//     127.0.0.1:6379.
//   - TOWERBOT_REQUIRE_SERVICES=1: a test whose service does not answer
//     fails instead of skipping (CI sets it).
package testenv

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Defaults used when the variables are unset.
const (
	DefaultMySQLDSN  = "root@tcp(127.0.0.1:3306)/test"
	DefaultRedisAddr = "127.0.0.1:6379"
)

// MySQLDSN is TOWERBOT_TEST_MYSQL_DSN, or DefaultMySQLDSN.
func MySQLDSN() string {
	if dsn := os.Getenv("TOWERBOT_TEST_MYSQL_DSN"); dsn != "" {
		return dsn
	}
	return DefaultMySQLDSN
}

// RedisAddr is TOWERBOT_TEST_REDIS_ADDR, or DefaultRedisAddr.
func RedisAddr() string {
	if addr := os.Getenv("TOWERBOT_TEST_REDIS_ADDR"); addr != "" {
		return addr
	}
	return DefaultRedisAddr
}

// RequireServices reports whether a missing service must fail tests.
func RequireServices() bool { return os.Getenv("TOWERBOT_REQUIRE_SERVICES") == "1" }

// Timeout bounds each check: a service that has not answered by then is
// treated as absent.
const Timeout = 3 * time.Second

// PingMySQL connects to dsn and pings the server.
func PingMySQL(ctx context.Context, dsn string) error {
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	return db.PingContext(ctx)
}

// PingRedis sends PING to the Redis at addr and expects PONG. It speaks
// the protocol itself so that the kv package's own tests can use it.
func PingRedis(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetDeadline(deadline)
	}
	if _, err := conn.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if line = strings.TrimRight(line, "\r\n"); line != "+PONG" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// RedactDSN hides the password of a DSN for messages.
func RedactDSN(dsn string) string {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil || cfg.Passwd == "" {
		return dsn
	}
	if prefix := cfg.User + ":" + cfg.Passwd + "@"; strings.HasPrefix(dsn, prefix) {
		return cfg.User + ":***@" + dsn[len(prefix):]
	}
	return "(a DSN with a password)"
}
