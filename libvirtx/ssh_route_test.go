package libvirtx

import (
	"stowage/model"
	"strings"
	"testing"

	sshconfig "github.com/kevinburke/ssh_config"
)

func routeFor(t *testing.T, config, uri string) (sshRoute, error) {
	t.Helper()
	cfg, err := sshconfig.Decode(strings.NewReader(config))
	if err != nil {
		t.Fatal(err)
	}
	tg, err := ParseURI(uri, false)
	if err != nil {
		t.Fatal(err)
	}
	d, err := newSSHDialer(tg, DefaultTimeout, sshEnv{cfg: cfg, home: "/home/u", localUser: "u"})
	if err != nil {
		return sshRoute{}, err
	}
	return d.route, nil
}

// hopsOf renders a route as "jump|user@addr|keys|known_hosts" per hop.
func hopsOf(r sshRoute) []string {
	var out []string
	for _, h := range r.hops {
		out = append(out, h.jump+"|"+h.user+"@"+h.addr+"|"+strings.Join(h.keyFiles, ",")+"|"+h.knownHosts)
	}
	return out
}

func TestSSHRouteProxyJumpChain(t *testing.T) {
	r, err := routeFor(t, `
Host bastion
  HostName bastion.example.com
  User jumper
  Port 2201
  IdentityFile ~/.ssh/bastion_key
  UserKnownHostsFile ~/.ssh/bastion_known
Host inner
  HostName 10.1.0.1
Host hv*
  HostName %h.dc1.internal
  User admin
  IdentityFile ~/.ssh/hv_key
  ProxyJump bastion, ops@inner:2022
`, "qemu+ssh://hv7/system?known_hosts=/kh")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"bastion|jumper@bastion.example.com:2201|/home/u/.ssh/bastion_key|/home/u/.ssh/bastion_known",
		// No IdentityFile or known_hosts of its own: the URI's known_hosts,
		// the default keys.
		"ops@inner:2022|ops@10.1.0.1:2022|/home/u/.ssh/id_ed25519,/home/u/.ssh/id_ecdsa,/home/u/.ssh/id_rsa|/kh",
		"|admin@hv7.dc1.internal:22|/home/u/.ssh/hv_key|/kh",
	}
	if got := hopsOf(r); strings.Join(got, "\n") != strings.Join(want, "\n") || r.proxyCommand != "" {
		t.Errorf("route:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// The first jump host is itself reached as ssh_config says: here through
// a ProxyCommand, whose tokens are the jump host's own.
func TestSSHRouteFirstJumpHostOwnProxy(t *testing.T) {
	r, err := routeFor(t, `
Host gw
  HostName gw.example.com
  User g
  ProxyCommand corkscrew proxy.example.com 8080 %h %p %r %n 100%%
Host hv1
  ProxyJump gw
`, "qemu+ssh://root@hv1/system")
	if err != nil {
		t.Fatal(err)
	}
	if r.proxyCommand != "corkscrew proxy.example.com 8080 gw.example.com 22 g gw 100%" {
		t.Errorf("proxy command = %q", r.proxyCommand)
	}
	if got := hopsOf(r); len(got) != 2 || !strings.HasPrefix(got[0], "gw|g@gw.example.com:22|") || !strings.HasPrefix(got[1], "|root@hv1:22|") {
		t.Errorf("hops = %v", got)
	}
}

// Of ProxyJump and ProxyCommand, the first obtained wins, whichever Host
// block it is in; "none" disables both.
func TestSSHRouteFirstObtainedWins(t *testing.T) {
	for name, tc := range map[string]struct {
		config, uri string
		proxy       string
		hops        int
	}{
		"command first": {`
Host hv1
  ProxyCommand nc %h %p
Host *
  ProxyJump bastion
`, "qemu+ssh://hv1/system", "nc hv1 22", 1},
		"jump first": {`
Host hv1
  ProxyJump bastion
  ProxyCommand nc %h %p
`, "qemu+ssh://hv1/system", "", 2},
		"jump none first": {`
Host hv1
  ProxyJump none
Host *
  ProxyCommand nc %h %p
`, "qemu+ssh://hv1/system", "", 1},
		"command none first": {`
Host bastion
  ProxyCommand none
Host *
  ProxyJump bastion
`, "qemu+ssh://bastion/system", "", 1},
		"jump host excluded by pattern": {`
Host * !bastion
  ProxyJump bastion
`, "qemu+ssh://hv1/system", "", 2},
		"no config": {"", "qemu+ssh://hv1/system", "", 1},
	} {
		t.Run(name, func(t *testing.T) {
			r, err := routeFor(t, tc.config, tc.uri)
			if err != nil {
				t.Fatal(err)
			}
			if r.proxyCommand != tc.proxy || len(r.hops) != tc.hops {
				t.Errorf("route = %q via %v; want %q with %d hops", r.proxyCommand, hopsOf(r), tc.proxy, tc.hops)
			}
		})
	}
}

func TestSSHRouteErrors(t *testing.T) {
	for name, tc := range map[string]struct{ config, want string }{
		"loop through Host *": {`
Host *
  ProxyJump bastion
`, "ProxyJump loop hv1 → bastion → bastion"},
		"loop back to the host": {`
Host hv1
  ProxyJump a
Host a
  ProxyJump hv1
`, "ProxyJump loop hv1 → a → hv1"},
		"bad jump": {`
Host hv1
  ProxyJump bastion,,other
`, "empty jump host"},
		"bad port": {`
Host hv1
  ProxyJump bastion:notaport
`, `bad port "notaport"`},
		"unknown token": {`
Host hv1
  ProxyCommand connect %C
`, "token %C is not supported"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := routeFor(t, tc.config, "qemu+ssh://hv1/system")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v; want %q", err, tc.want)
			}
		})
	}
}

func TestSSHParseJumpSpec(t *testing.T) {
	for spec, want := range map[string]string{
		"bastion":                   "|bastion|",
		"ops@bastion":               "ops|bastion|",
		"ops@bastion:2201":          "ops|bastion|2201",
		"bastion:2201":              "|bastion|2201",
		"ssh://ops@bastion:2201":    "ops|bastion|2201",
		"ssh://bastion":             "|bastion|",
		"root@[2001:db8::1]:22":     "root|2001:db8::1|22",
		"[2001:db8::1]":             "|2001:db8::1|",
		"2001:db8::1":               "|2001:db8::1|",
		"first.last@corp@bastion":   "first.last@corp|bastion|",
		"ssh://ops@bastion:22/path": "error",
		"@bastion":                  "error",
		"":                          "error",
		"bastion:99999x":            "error",
	} {
		u, h, p, err := parseJumpSpec(spec)
		got := u + "|" + h + "|" + p
		if err != nil {
			got = "error"
		}
		if got != want {
			t.Errorf("parseJumpSpec(%q) = %q (%v); want %q", spec, got, err, want)
		}
	}
}

func TestSSHUnknownHostKeyNamesTheHop(t *testing.T) {
	e := &model.UnknownHostKeyError{Host: "[10.0.0.1]:2201", KeyType: "ssh-ed25519", Fingerprint: "SHA256:abc", KnownHosts: "/kh", JumpHost: "bastion"}
	if e.Subject() != "jump host bastion ([10.0.0.1]:2201)" || !strings.Contains(e.Error(), "unknown SSH host key for jump host bastion ([10.0.0.1]:2201)") {
		t.Errorf("subject %q, error %q", e.Subject(), e.Error())
	}
	e.JumpHost = ""
	if e.Subject() != "[10.0.0.1]:2201" {
		t.Errorf("subject of the host itself = %q", e.Subject())
	}
}
