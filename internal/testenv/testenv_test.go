package testenv

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
)

func TestRedactDSN(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"root@tcp(127.0.0.1:3306)/test", "root@tcp(127.0.0.1:3306)/test"},
		{"towerbot:s3cr:t@tcp(db:3306)/towerbot?parseTime=true", "towerbot:***@tcp(db:3306)/towerbot?parseTime=true"},
		{"u:p@unix(/run/mysqld/mysqld.sock)/x", "u:***@unix(/run/mysqld/mysqld.sock)/x"},
	} {
		if got := RedactDSN(tc.in); got != tc.want {
			t.Errorf("RedactDSN(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

// fakeRedis answers every connection's first command with reply.
func fakeRedis(t *testing.T, reply string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			r := bufio.NewReader(conn)
			for range 3 { // *1, $4, PING
				r.ReadString('\n')
			}
			conn.Write([]byte(reply))
			conn.Close()
		}
	}()
	return ln.Addr().String()
}

func TestPingRedis(t *testing.T) {
	ctx := context.Background()
	if err := PingRedis(ctx, fakeRedis(t, "+PONG\r\n")); err != nil {
		t.Errorf("PONG: %v", err)
	}
	err := PingRedis(ctx, fakeRedis(t, "-NOAUTH Authentication required.\r\n"))
	if err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Errorf("NOAUTH: %v; want an error naming it", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	if err := PingRedis(ctx, closed); err == nil {
		t.Error("nothing listening: no error")
	}
}
