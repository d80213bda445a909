package libvirtx_test

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"stowage/lab"
	"stowage/libvirtx"
)

func needTLS(t *testing.T) lab.Env {
	t.Helper()
	env := lab.Need(t)
	if env.TLSURI == "" {
		lab.Unavailable(t, "lab/env has no STOWAGE_LAB_TLS_URI: run lab/up tls && lab/up env")
	}
	return env
}

// The lab's TLS libvirtd (its own CA, server and client certificates):
// stowage connects over qemu+tls and lists the same pools virsh does.
func TestLabTLSListsPools(t *testing.T) {
	env := needTLS(t)
	ctx := context.Background()
	c, err := libvirtx.Dial(ctx, env.TLSURI, libvirtx.Options{})
	if err != nil {
		t.Fatalf("dial %s: %v", env.TLSURI, err)
	}
	defer c.Close()
	pools, err := c.Pools(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pools {
		got = append(got, p.Name)
	}
	out, err := exec.Command("virsh", "-q", "-c", env.TLSURI, "pool-list", "--all", "--name").Output()
	if err != nil {
		t.Fatalf("virsh over TLS: %v", err)
	}
	want := strings.Fields(string(out))
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) || !slices.Contains(got, env.TLSPool) {
		t.Fatalf("pools over TLS %v; virsh says %v (want %s among them)", got, want, env.TLSPool)
	}
}

// Certificates of another CA: the server is refused with the cause.
func TestLabTLSOtherCARefused(t *testing.T) {
	env := needTLS(t)
	pki, _ := testPKI(t)
	tg, err := libvirtx.ParseURI(env.TLSURI, false)
	if err != nil {
		t.Fatal(err)
	}
	uri := "qemu+tls://" + tg.Host + ":" + tg.Port + "/session?pkipath=" + pki
	_, err = libvirtx.Dial(context.Background(), uri, libvirtx.Options{Timeout: dialTimeout})
	if err == nil || !strings.Contains(err.Error(), "not signed by our CA") {
		t.Fatalf("err = %v; want the server's certificate refused as not signed by our CA", err)
	}
}
