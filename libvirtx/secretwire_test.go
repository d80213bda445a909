package libvirtx

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestCarriesSecretsSafely(t *testing.T) {
	for _, c := range []struct {
		uri  string
		safe bool
	}{
		{"qemu:///system", true},
		{"qemu+ssh://root@hv1/system", true},
		{"qemu+tls://hv2/system", true},
		{"qemu+tcp://127.0.0.1/system", true},
		{"qemu+tcp://127.0.0.2:16509/system", true},
		{"qemu+tcp://localhost/system", true},
		{"qemu+tcp://[::1]/system", true},
		{"qemu+tcp://hv3/system", false},
		{"qemu+tcp://10.0.0.5:16509/system", false},
		{"qemu+tcp://[2001:db8::1]/system", false},
	} {
		tg, err := ParseURI(c.uri, false)
		if err != nil {
			t.Fatalf("%s: %v", c.uri, err)
		}
		safe, why := tg.CarriesSecretsSafely()
		if safe != c.safe {
			t.Errorf("%s: safe %v, want %v (%s)", c.uri, safe, c.safe, why)
		}
		if !safe && (!strings.Contains(why, "qemu+ssh://") || !strings.Contains(why, "qemu+tls://") || !strings.Contains(why, "plaintext")) {
			t.Errorf("%s: the reason must name the cause and both safe transports: %q", c.uri, why)
		}
	}
}

// Every method that sends a secret refuses on a remote qemu+tcp host before
// any RPC: the Conn here has no libvirt client at all, so a call that got
// as far as libvirt would panic.
func TestSecretSettersRefusePlaintextTCP(t *testing.T) {
	tg, err := ParseURI("qemu+tcp://hv3.example.com/system", false)
	if err != nil {
		t.Fatal(err)
	}
	c := &Conn{Target: tg, timeout: DefaultTimeout}
	ctx := context.Background()
	value := []byte("not to be sent")
	calls := map[string]func() error{
		"SetSecretValue": func() error { return c.SetSecretValue(ctx, "5a7d0e1c-3b2f-4c55-9e60-57a6e1ab0001", value) },
		"DefineVolumeSecret": func() error {
			_, err := c.DefineVolumeSecret(ctx, "/pool/v.img", "d")
			return err
		},
		"DefineSecret": func() error {
			_, err := c.DefineSecret(ctx, SecretSpec{UsageType: "ceph", UsageID: "u"}, value)
			return err
		},
		"DefineCHAPSecret": func() error {
			_, err := c.DefineCHAPSecret(ctx, "stowage-chap-p", "d", value)
			return err
		},
	}
	for name, call := range calls {
		err := call()
		if !errors.Is(err, ErrPlaintextSecret) {
			t.Errorf("%s: %v; want a refusal (ErrPlaintextSecret)", name, err)
			continue
		}
		if !strings.Contains(err.Error(), "qemu+ssh://hv3.example.com/system") || strings.Contains(err.Error(), string(value)) {
			t.Errorf("%s: the refusal must say what to use instead and never carry the value: %v", name, err)
		}
	}
}
