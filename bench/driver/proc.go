package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is one server process the driver started and measures.
type proc struct {
	name string
	cmd  *exec.Cmd
	addr string // host:port it listens on
	log  string // file with its stdout and stderr
}

// start runs bin. With printsAddr the program prints its listen address on
// the first line of stdout (our upstream and proxy); otherwise addr is
// already known.
func start(name, bin string, args, env []string, dir, addr string, printsAddr bool) (*proc, error) {
	logPath := filepath.Join(dir, name+".log")
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = lf
	// Its own process group, so that a Ctrl-C aimed at the driver reaches
	// the driver first and the driver stops its children in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out io.ReadCloser
	if printsAddr {
		if out, err = cmd.StdoutPipe(); err != nil {
			return nil, err
		}
	} else {
		cmd.Stdout = lf
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, addr: addr, log: logPath}
	if printsAddr {
		br := bufio.NewReader(out)
		line, err := br.ReadString('\n')
		if err != nil {
			p.stop()
			return nil, fmt.Errorf("%s did not print its address: %w (see %s)", name, err, logPath)
		}
		p.addr = strings.TrimSpace(line)
		go io.Copy(lf, br)
	}
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// stop asks the process to finish (llmservice flushes usage on SIGTERM)
// and kills it if it has not within ten seconds.
func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// waitHTTP polls url until it answers 200 or the deadline passes.
func waitHTTP(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = errors.New(resp.Status)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w", url, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// freeAddr returns a loopback address nobody listens on at the moment.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// clkTck is USER_HZ, the unit of utime and stime in /proc/<pid>/stat. It
// is 100 on every Linux architecture Go supports.
const clkTck = 100

// cpuTime returns the user plus system CPU time the process has used.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStat(b)
}

// parseStat reads utime and stime (fields 14 and 15) of a stat line. The
// command name in field 2 may hold spaces and parentheses, so fields are
// counted from the last ')'.
func parseStat(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state), so field n is f[n-3].
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("parse /proc stat: %w", err)
	}
	return time.Duration(ut+st) * time.Second / clkTck, nil
}

// memory returns VmHWM (peak resident set since start or the last
// resetPeak) and VmRSS, in KiB.
func memory(pid int) (hwm, rss int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	return parseStatus(b)
}

func parseStatus(b []byte) (hwm, rss int64, err error) {
	f, err := statusFields(b, "VmHWM", "VmRSS")
	return f["VmHWM"], f["VmRSS"], err
}

// statusFields returns the named fields (in kB) of a /proc/PID/status.
func statusFields(b []byte, names ...string) (map[string]int64, error) {
	out := make(map[string]int64, len(names))
	for line := range strings.SplitSeq(string(b), "\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok || !slices.Contains(names, name) {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		out[name] = n
	}
	return out, nil
}

// rssSplit returns the anonymous and the file-backed resident set
// (RssAnon, RssFile) in KiB: heap and stacks, against the binary's pages.
func rssSplit(pid int) (anon, file int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	f, err := statusFields(b, "RssAnon", "RssFile")
	return f["RssAnon"], f["RssFile"], err
}

// resetPeak sets VmHWM back to the current RSS (Linux 4.0+), so that each
// run reports its own peak rather than the highest since start.
func resetPeak(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}
