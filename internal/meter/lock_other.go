//go:build !unix

package meter

import "os"

// lockFile does nothing where flock does not exist: processes must not
// share a journal directory there.
func lockFile(*os.File) error { return nil }
