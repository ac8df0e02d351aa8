//go:build race

package main

// raceEnabled reports a -race build. The race detector's instrumentation
// keeps buffers alive longer, so memory figures measured under it are
// looser than the gateway's own (README reports those of a normal build).
const raceEnabled = true
