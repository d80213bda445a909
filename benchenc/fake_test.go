package benchenc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"

	"stowage/plan"
)

// fakeExec plays qemu-img and qemu-storage-daemon: bench takes runTime
// per image (by the image name in the daemon's blockdev), creates fail on
// QEMU's benchmark failLUKS times first.
type fakeExec struct {
	mu       sync.Mutex
	current  string // image the running daemon holds
	runTime  map[Format]string
	failLUKS int
	failWith error  // every create fails so (after failLUKS)
	failOn   Format // bench fails on this format's image
	calls    []string
	argv     [][]string
	files    [][][]byte
	daemons  int
}

func formatOf(name string) Format {
	for _, f := range []Format{LibrbdLUKS2, QEMULUKS, Plain} {
		if strings.HasSuffix(name, "-"+string(f)) {
			return f
		}
	}
	return ""
}

func (x *fakeExec) Output(ctx context.Context, name string, args []string, files [][]byte) ([]byte, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.calls = append(x.calls, name+" "+args[0])
	x.argv = append(x.argv, args)
	x.files = append(x.files, cloneFiles(files))
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	switch args[0] {
	case "create":
		if x.failLUKS > 0 {
			x.failLUKS--
			return nil, errors.New("qemu-img: " + args[len(args)-2] + ": Unable to get accurate CPU usage")
		}
		return nil, x.failWith
	case "bench":
		f := formatOf(x.current)
		if f == x.failOn && f != "" {
			return nil, errors.New("qemu-img: bench: I/O error")
		}
		t := x.runTime[f]
		if t == "" {
			t = "0.500"
		}
		return []byte("Sending 32 requests\nRun completed in " + t + " seconds.\n"), nil
	}
	return nil, fmt.Errorf("unexpected qemu-img %s", args[0])
}

func (x *fakeExec) Start(name string, args []string, files [][]byte) (Proc, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.daemons++
	x.argv = append(x.argv, args)
	x.files = append(x.files, cloneFiles(files))
	i := slices.Index(args, "--pidfile")
	if i < 0 {
		return nil, errors.New("no --pidfile")
	}
	bd := args[slices.Index(args, "--blockdev")+1]
	for _, f := range []Format{LibrbdLUKS2, QEMULUKS, Plain} {
		if strings.Contains(bd, "-"+string(f)+`"`) {
			x.current = "x-" + string(f)
			break
		}
	}
	if err := os.WriteFile(args[i+1], []byte("4242\n"), 0o600); err != nil {
		return nil, err
	}
	return &fakeProc{done: make(chan struct{})}, nil
}

type fakeProc struct {
	once sync.Once
	done chan struct{}
}

func (p *fakeProc) Wait() error    { <-p.done; return nil }
func (p *fakeProc) Stop() error    { p.once.Do(func() { close(p.done) }); return nil }
func (p *fakeProc) Kill() error    { return p.Stop() }
func (p *fakeProc) Stderr() string { return "" }

// fakeStorage keeps images in a map.
type fakeStorage struct {
	mu         sync.Mutex
	formats    []Format
	images     map[string]bool
	failCreate Format
	failRemove bool
	created    []string
}

func newFakeStorage(formats ...Format) *fakeStorage {
	return &fakeStorage{formats: formats, images: map[string]bool{}}
}

func (s *fakeStorage) Kind() string              { return "fake" }
func (s *fakeStorage) Formats() []Format         { return s.formats }
func (s *fakeStorage) Object(name string) string { return "fakepool/" + name }
func (s *fakeStorage) Secrets() [][]byte         { return [][]byte{[]byte("cephx-key")} }

func (s *fakeStorage) List(prefix string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for n := range s.images {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out, nil
}

func (s *fakeStorage) Create(ctx context.Context, f Format, name string, size uint64, pass []byte, retried Retried) (plan.Made, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f == s.failCreate {
		return plan.Made{}, errors.New("create refused by the fake")
	}
	s.images[name] = true
	s.created = append(s.created, name)
	return plan.Made{What: "image " + name, Identity: name, Command: "fake-rm " + name, Undo: func(context.Context) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.failRemove {
			return errors.New("remove refused by the fake")
		}
		delete(s.images, name)
		return nil
	}}, nil
}

func (s *fakeStorage) Blockdev(f Format, name string) map[string]any {
	return map[string]any{"driver": "fake", "node-name": nodeName, "image": name}
}

func (s *fakeStorage) left() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for n := range s.images {
		out = append(out, n)
	}
	return out
}

// cloneFiles copies what a child was given: Run clears the passphrase
// when it ends.
func cloneFiles(files [][]byte) [][]byte {
	var out [][]byte
	for _, f := range files {
		out = append(out, bytes.Clone(f))
	}
	return out
}
