package libvirtx

import (
	"strings"
	"testing"

	sshconfig "github.com/kevinburke/ssh_config"
)

func TestResolveSSH(t *testing.T) {
	cfg, err := sshconfig.Decode(strings.NewReader(`
Host hv1
  HostName 10.0.0.5
  User admin
  Port 2200
  IdentityFile ~/.ssh/hv1_key
  UserKnownHostsFile ~/.ssh/hv_known
`))
	if err != nil {
		t.Fatal(err)
	}
	tg, err := ParseURI("qemu+ssh://hv1/system", false)
	if err != nil {
		t.Fatal(err)
	}
	s := resolveSSH(tg, cfg, "/home/u", "u")
	if s.addr != "10.0.0.5:2200" || s.user != "admin" || s.socket != defaultSocket {
		t.Errorf("from ~/.ssh/config: %+v", s)
	}
	if len(s.keyFiles) != 1 || s.keyFiles[0] != "/home/u/.ssh/hv1_key" || s.knownHosts != "/home/u/.ssh/hv_known" {
		t.Errorf("key files / known hosts: %+v", s)
	}
	// The URI wins over the config file.
	tg, _ = ParseURI("qemu+ssh://root@hv1:22/system?keyfile=/k&known_hosts=/kh&socket=/s", false)
	s = resolveSSH(tg, cfg, "/home/u", "u")
	if s.addr != "10.0.0.5:22" || s.user != "root" || s.keyFiles[0] != "/k" || s.knownHosts != "/kh" || s.socket != "/s" {
		t.Errorf("URI must win: %+v", s)
	}
	// No config at all: defaults.
	tg, _ = ParseURI("qemu+ssh://other/system", false)
	s = resolveSSH(tg, nil, "/home/u", "u")
	if s.addr != "other:22" || s.user != "u" || len(s.keyFiles) != 3 || s.knownHosts != "/home/u/.ssh/known_hosts" {
		t.Errorf("defaults: %+v", s)
	}
}
