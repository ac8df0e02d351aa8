//go:build unix

package h1

import "syscall"

// idleClean reports whether nothing came on c while it was idle: no byte
// (an answer nobody asked for, a 408 sent before an idle close) and no
// close by the server. Such a connection must not carry a request: its
// bytes would be read as the request's answer, and after a close the
// request would have to be sent again. net/http's reader of idle
// connections notices both; this transport has none, so it looks once,
// without waiting (a peek of one byte on the non-blocking socket), when
// it takes the connection.
func (c *conn) idleClean() bool {
	if c.raw == nil {
		sc, ok := c.nc.(syscall.Conn)
		if !ok {
			return true // a conn of the caller's DialContext: unknown
		}
		raw, err := sc.SyscallConn()
		if err != nil {
			return true
		}
		c.raw, c.peekFn = raw, c.peek
	}
	c.clean = false
	if err := c.raw.Read(c.peekFn); err != nil {
		return false
	}
	return c.clean
}

// peek is idleClean's look: clean when a read would wait.
func (c *conn) peek(fd uintptr) bool {
	_, _, err := syscall.Recvfrom(int(fd), c.one[:], syscall.MSG_PEEK)
	c.clean = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
	return true // never wait for the socket to be readable
}
