package main

import (
	"log/slog"
	"net"
	"net/http"
	"sync"

	"github.com/towerbot/towerbot/config"
)

// newHTTPServer returns the server of `towerbot serve` with the limits of
// c, so that slow or idle clients cannot starve the others: a request must
// arrive whole (header and body) within ReadTimeout of its first byte, be
// answered within WriteTimeout (the sandbox's event stream and its waiting
// POST extend their own deadlines), and a kept-alive connection is closed
// after IdleTimeout without a request. The connection cap is the
// listener's: see limitListener.
func newHTTPServer(c config.HTTP, handler http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:      handler,
		ReadTimeout:  c.ReadTimeout, // also the header's, as ReadHeaderTimeout is 0
		WriteTimeout: c.WriteTimeout,
		IdleTimeout:  c.IdleTimeout,
		ErrorLog:     slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// limitListener lets at most n connections be open at once. It takes the
// next connection from ln only once one of the n has closed: until then a
// new client waits, connected by the kernel but unanswered, in the listen
// queue, instead of being refused. A refusal would make a platform retry a
// callback sooner and a browser show an error; a wait is bounded by the
// server's timeouts, which close every connection in time.
func limitListener(ln net.Listener, n int) net.Listener {
	return &limitedListener{Listener: ln, slots: make(chan struct{}, n), closed: make(chan struct{})}
}

type limitedListener struct {
	net.Listener
	slots     chan struct{} // one token per open connection
	closed    chan struct{}
	closeOnce sync.Once
}

// Accept waits for a free slot, then for a connection.
func (l *limitedListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.closed:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitedConn{Conn: c, release: func() { <-l.slots }}, nil
}

// Close stops the listener, also ending an Accept that waits for a slot.
func (l *limitedListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// limitedConn frees its slot when it is closed, once however often Close
// is called.
type limitedConn struct {
	net.Conn
	release func()
	once    sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// CloseWrite passes the half-close on: net/http uses it, when closing after
// an error answer, to let the client read that answer before the reset.
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// onLoopback reports whether a listening address only takes connections
// from this machine (127.0.0.0/8, ::1). An unspecified address (":8080",
// 0.0.0.0, ::) listens on every interface, so it is not.
func onLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}
