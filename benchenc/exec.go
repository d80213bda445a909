package benchenc

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Exec runs the QEMU tools. Secrets reach a child only as Files: each
// becomes a pipe the child reads as /dev/fd/3, /dev/fd/4, … (never argv,
// never a file on disk).
type Exec interface {
	// Output runs name to its end (or until ctx is done) and returns its
	// standard output; an error carries its standard error.
	Output(ctx context.Context, name string, args []string, files [][]byte) ([]byte, error)
	// Start starts a long-running child (the storage daemon).
	Start(name string, args []string, files [][]byte) (Proc, error)
}

// Proc is a started child.
type Proc interface {
	// Wait waits for the child to exit; it may be called once.
	Wait() error
	// Stop asks the child to exit (SIGTERM).
	Stop() error
	// Kill ends it (SIGKILL).
	Kill() error
	// Stderr is what the child wrote to its standard error so far.
	Stderr() string
}

// FD is the path a child reads its i-th file at.
func FD(i int) string { return fmt.Sprintf("/dev/fd/%d", 3+i) }

// OSExec is Exec on the real machine. Children run in their own process
// group: a Ctrl+C at the terminal reaches stowage only, which stops them
// in order (the daemon before the image it holds is removed).
type OSExec struct{}

func pipes(files [][]byte) ([]*os.File, func(), error) {
	var rs []*os.File
	closeAll := func() {
		for _, r := range rs {
			_ = r.Close()
		}
	}
	for _, b := range files {
		r, w, err := os.Pipe()
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("pipe for a secret: %w", err)
		}
		rs = append(rs, r)
		// A secret is far below the pipe's 64 KiB buffer: the write never
		// blocks, and closing w gives the child its EOF.
		_, err = w.Write(b)
		_ = w.Close()
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("write a secret to its pipe: %w", err)
		}
	}
	return rs, closeAll, nil
}

// command builds a child; one started with context.Background() lives
// until stopped (the daemon).
func command(ctx context.Context, name string, args []string, rs []*os.File) *exec.Cmd {
	c := exec.CommandContext(ctx, name, args...)
	c.ExtraFiles = rs
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.WaitDelay = 5 * time.Second
	return c
}

// Output implements Exec.
func (OSExec) Output(ctx context.Context, name string, args []string, files [][]byte) ([]byte, error) {
	rs, closeAll, err := pipes(files)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	c := command(ctx, name, args, rs)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = strings.TrimSpace(out.String())
		}
		return out.Bytes(), fmt.Errorf("%s: %w: %s", name, err, msg)
	}
	return out.Bytes(), nil
}

type osProc struct {
	c   *exec.Cmd
	err *syncBuffer
}

// Start implements Exec.
func (OSExec) Start(name string, args []string, files [][]byte) (Proc, error) {
	rs, closeAll, err := pipes(files)
	if err != nil {
		return nil, err
	}
	defer closeAll() // the child holds its own copies once started
	c := command(context.Background(), name, args, rs)
	p := &osProc{c: c, err: &syncBuffer{}}
	c.Stdout, c.Stderr = io.Discard, p.err
	if err := c.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	return p, nil
}

func (p *osProc) Wait() error    { return p.c.Wait() }
func (p *osProc) Stop() error    { return p.c.Process.Signal(syscall.SIGTERM) }
func (p *osProc) Kill() error    { return p.c.Process.Kill() }
func (p *osProc) Stderr() string { return strings.TrimSpace(p.err.String()) }
