//go:build !unix

package h1

// idleClean cannot look at an idle connection without waiting here: what
// came on it while idle is found when the request is sent.
func (c *conn) idleClean() bool { return true }
