package libvirtx_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"

	"stowage/lab"
	"stowage/libvirtx"
	"stowage/model"
)

// An SSH server that accepts TCP and never sends its banner: the dial (and
// a console session on that host) fails within the timeout, never stays
// "connecting".
func TestSSHHandshakeThatNeverCompletes(t *testing.T) {
	dir := t.TempDir()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	blk, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "id")
	if err := os.WriteFile(key, pem.EncodeToMemory(blk), 0o600); err != nil {
		t.Fatal(err)
	}
	kh := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(kh, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", dir) // no ~/.ssh/config of the machine's
	t.Setenv("SSH_AUTH_SOCK", "")
	bh := lab.NewBlackHole(t)
	uri := "qemu+ssh://root@127.0.0.1:" + bh.Port() + "/system?keyfile=" + key + "&known_hosts=" + kh
	s := libvirtx.NewSession(uri, libvirtx.Options{Timeout: dialTimeout}, libvirtx.DefaultBackoff)
	_, err = s.Conn(context.Background())
	select {
	case <-bh.Accepted:
	default:
		t.Fatal("the dial never reached the listener")
	}
	if !errors.Is(err, libvirtx.ErrTimeout) {
		t.Fatalf("err = %v; want ErrTimeout", err)
	}
	if st := s.Status(); st.State != model.StateDisconnected {
		t.Errorf("state %s; want disconnected", st.State)
	}
}
