package ceph

import (
	"errors"
	"strings"
	"testing"
)

func TestImageName(t *testing.T) {
	for _, ok := range []string{"vm-1-data", "a", "disk.raw", strings.Repeat("x", 4096)} {
		if err := ImageName(ok); err != nil {
			t.Errorf("ImageName(%.20q): %v", ok, err)
		}
	}
	bad := map[string]string{"": "empty", "a/b": "reserves", "a@s": "reserves", "x\n": "control", " x": "space", strings.Repeat("x", 4097): "4096"}
	for in, msg := range bad {
		if err := ImageName(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ImageName(%.20q) = %v; want an error containing %q", in, err, msg)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	cases := map[string]Config{
		"no cephx user": {ConfFile: "/c"},
		"monitors":      {User: "u"},
		"no key for":    {User: "u", ConfFile: "/c"},
	}
	for msg, c := range cases {
		if err := c.validate(); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%+v: %v; want %q", c, err, msg)
		}
	}
	if err := (Config{User: "u", Monitors: []string{"m"}, Key: []byte("k")}).validate(); err != nil {
		t.Error(err)
	}
}

func TestNoCephSaysSo(t *testing.T) {
	if Supported() {
		_, err := Connect(t.Context(), Config{})
		if err == nil || errors.Is(err, ErrNoCeph) {
			t.Errorf("a Ceph-enabled build: Connect(empty) = %v; want a validation error", err)
		}
		return
	}
	_, err := Connect(t.Context(), Config{User: "u", ConfFile: "/c", Keyring: "/k"})
	if !errors.Is(err, ErrNoCeph) || !strings.Contains(err.Error(), "noceph") {
		t.Errorf("noceph build: Connect = %v; want ErrNoCeph naming the build tag", err)
	}
	// The doctor's calls too: a doctor run on a noceph build says why it
	// cannot look at Ceph instead of reporting a healthy cluster.
	cl := &Client{}
	_, errDiag := Diagnose(t.Context(), Config{}, DoctorOptions{})
	_, errCluster := cl.Cluster(t.Context())
	_, errHealth := cl.Health(t.Context())
	_, errBL := cl.Blocklist(t.Context())
	_, errCaps := cl.UserCaps(t.Context(), "u")
	_, errImgs := cl.Images(t.Context(), "p")
	_, errImg := cl.Image("p", "i")
	for i, err := range []error{errDiag, errCluster, errHealth, errBL, errCaps, errImgs, errImg, cl.BreakLock(t.Context(), "p", "i", "l", "c")} {
		if !errors.Is(err, ErrNoCeph) {
			t.Errorf("noceph build: call %d = %v; want ErrNoCeph", i, err)
		}
	}
}
