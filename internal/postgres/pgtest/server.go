package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// BinDir is where Debian installs PostgreSQL 15's server programs.
const BinDir = "/usr/lib/postgresql/15/bin"

// Server is a private PostgreSQL server for tests that stop, restart or
// break their database: the machine's shared server must never be touched.
// Its data directory lives until the test ends.
type Server struct {
	t    testing.TB
	dir  string // data directory
	sock string // unix socket directory
	port int
	as   *user.User // nil: run as the current user

	mu  sync.Mutex
	cmd *exec.Cmd
}

// StartServer initialises a cluster in a fresh directory and starts it on
// a free port of 127.0.0.1, with trust authentication and fsync off. It
// skips the test when the server programs are not installed. As root it
// runs the server as the postgres user, which initdb and postgres require.
func StartServer(t testing.TB) *Server {
	t.Helper()
	if _, err := os.Stat(filepath.Join(BinDir, "postgres")); err != nil {
		t.Skipf("PostgreSQL server programs not found in %s; skipping the private-server test", BinDir)
	}
	s := &Server{t: t}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skipf("running as root and there is no postgres user to run a private server as: %v", err)
		}
		s.as = u
	}
	// t.TempDir's parents are private to this user; the server's user must
	// reach its directory.
	root, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	s.dir, s.sock = filepath.Join(root, "data"), filepath.Join(root, "sock")
	for _, d := range []string{s.dir, s.sock} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		s.chown(d)
	}
	s.chown(root)
	if out, err := s.command(filepath.Join(BinDir, "initdb"), "-D", s.dir, "-U", "postgres", "-A", "trust",
		"--no-sync", "-E", "UTF8", "--locale", "C").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// URL is the server's connection URL (database postgres, user postgres).
func (s *Server) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.port)
}

// Start starts the server (again) on its port and waits until it answers.
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	cmd := s.command(filepath.Join(BinDir, "postgres"), "-D", s.dir, "-p", strconv.Itoa(s.port),
		"-k", s.sock, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=100")
	log, err := os.Create(filepath.Join(filepath.Dir(s.dir), "postgres.log"))
	if err != nil {
		s.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start postgres: %v", err)
	}
	log.Close()
	s.cmd = cmd
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, s.URL())
		if err == nil {
			conn.Close(ctx)
			cancel()
			return
		}
		cancel()
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(filepath.Dir(s.dir), "postgres.log"))
			s.t.Fatalf("private postgres on port %d did not start: %v\n%s", s.port, err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop shuts the server down the way an operator's fast shutdown does
// (SIGINT: sessions are terminated, the client sees its connections close)
// and waits for it to exit.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	s.cmd = nil
}

func (s *Server) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	if s.as != nil {
		uid, _ := strconv.Atoi(s.as.Uid)
		gid, _ := strconv.Atoi(s.as.Gid)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		cmd.Env = append(os.Environ(), "HOME="+s.as.HomeDir, "USER=postgres")
	}
	cmd.Dir = "/"
	return cmd
}

func (s *Server) chown(path string) {
	if s.as == nil {
		return
	}
	uid, _ := strconv.Atoi(s.as.Uid)
	gid, _ := strconv.Atoi(s.as.Gid)
	if err := os.Chown(path, uid, gid); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.t.Fatal(err)
	}
}
