//go:build unix

package meter

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive advisory lock on f without waiting; it fails
// while another process (or another open file of this one) holds it.
func lockFile(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}
