//go:build !linux

package bench

import (
	"errors"
	"syscall"
	"time"
)

// Memory and CPU figures of the server come from Linux's /proc; elsewhere
// the benchmark runs without them.

type procStatus struct {
	RSS     int64
	HWM     int64
	Threads int
}

var errNoProc = errors.New("process figures need Linux /proc")

func readStatus(int) (procStatus, error) { return procStatus{}, errNoProc }
func resetPeak(int) error                { return errNoProc }
func cpuTime(int) (time.Duration, error) { return 0, errNoProc }
func selfCPU() time.Duration             { return 0 }
func childAttr() *syscall.SysProcAttr    { return nil }
func fsType(string) string               { return "unknown" }
func noFileLimit() uint64                { return 0 }
