package libvirtx

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"

	sshconfig "github.com/kevinburke/ssh_config"
)

// How a qemu+ssh dial reaches its host: straight over TCP, through a
// ProxyCommand's stdin/stdout, or through a chain of ProxyJump hosts, each
// an SSH server of its own with its own User, Port, IdentityFile and
// known_hosts from ssh_config, as OpenSSH does it:
//   - ProxyJump a,b: the host is reached through b, b through a, and a
//     through whatever ssh_config says for a itself (its own ProxyJump or
//     ProxyCommand); the ProxyJump of b is not consulted, the chain says
//     how to reach b.
//   - Of ProxyJump and ProxyCommand, the first one obtained in the file
//     wins; "none" for either disables both.

// sshEnv is what resolution reads: ssh_config (nil when there is none),
// the home directory and the local user name.
type sshEnv struct {
	cfg       *sshconfig.Config
	home      string
	localUser string
}

// hostQuery names one SSH server to resolve. keyfile and knownHosts win
// over ssh_config (the URI's ?keyfile= for the libvirt host); the
// fallbacks apply only where ssh_config says nothing (jump hosts fall
// back to the URI's files).
type hostQuery struct {
	alias, user, port               string
	keyfile, knownHosts             string
	fallbackKey, fallbackKnownHosts string
	jump                            string
}

func (e sshEnv) get(alias, key string) string {
	if e.cfg == nil {
		return ""
	}
	v, _ := e.cfg.Get(alias, key)
	return v
}

func (e sshEnv) expandPath(p string) string {
	if strings.HasPrefix(p, "~/") {
		return filepath.Join(e.home, p[2:])
	}
	return p
}

// resolveHost applies ssh_config to one server.
func (e sshEnv) resolveHost(q hostQuery) sshSettings {
	s := sshSettings{alias: q.alias, jump: q.jump}
	s.hostName = q.alias
	if hn := e.get(q.alias, "HostName"); hn != "" {
		// OpenSSH expands %h (the name as given) in HostName.
		s.hostName = strings.ReplaceAll(strings.ReplaceAll(hn, "%h", q.alias), "%%", "%")
	}
	s.port = q.port
	if s.port == "" {
		s.port = e.get(q.alias, "Port")
	}
	if s.port == "" {
		s.port = "22"
	}
	s.addr = net.JoinHostPort(s.hostName, s.port)
	s.user = q.user
	if s.user == "" {
		s.user = e.get(q.alias, "User")
	}
	if s.user == "" {
		s.user = e.localUser
	}
	if q.keyfile != "" {
		s.keyFiles = []string{e.expandPath(q.keyfile)}
	} else if e.cfg != nil {
		if ids, err := e.cfg.GetAll(q.alias, "IdentityFile"); err == nil {
			for _, id := range ids {
				// ssh_config returns its default "~/.ssh/identity" when
				// nothing is set; the usual defaults are added below.
				if id != "" && id != "~/.ssh/identity" {
					s.keyFiles = append(s.keyFiles, e.expandPath(id))
				}
			}
		}
	}
	if len(s.keyFiles) == 0 && q.fallbackKey != "" {
		s.keyFiles = []string{e.expandPath(q.fallbackKey)}
	}
	if len(s.keyFiles) == 0 {
		for _, n := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
			s.keyFiles = append(s.keyFiles, filepath.Join(e.home, ".ssh", n))
		}
	}
	s.knownHosts = e.expandPath(q.knownHosts)
	if s.knownHosts == "" {
		if f := e.get(q.alias, "UserKnownHostsFile"); f != "" {
			s.knownHosts = e.expandPath(strings.Fields(f)[0])
		}
	}
	if s.knownHosts == "" {
		s.knownHosts = e.expandPath(q.fallbackKnownHosts)
	}
	if s.knownHosts == "" {
		s.knownHosts = filepath.Join(e.home, ".ssh", "known_hosts")
	}
	return s
}

// sshRoute is the way to the libvirt host: hops[0] is reached over TCP,
// or through proxyCommand (its tokens expanded) when that is set; every
// later hop through a tunnel of the one before. The last hop is the
// libvirt host.
type sshRoute struct {
	proxyCommand string
	hops         []sshSettings
}

// maxJumpDepth bounds how deep first jump hosts may nest through their
// own ProxyJump settings before resolution calls it a loop.
const maxJumpDepth = 8

// route resolves how to reach dest (already resolved from alias).
func (e sshEnv) route(alias string, dest sshSettings, uriKey, uriKnownHosts string) (sshRoute, error) {
	return e.routeTo(alias, dest, uriKey, uriKnownHosts, []string{alias})
}

func (e sshEnv) routeTo(alias string, dest sshSettings, uriKey, uriKnownHosts string, path []string) (sshRoute, error) {
	key, value := firstProxyDirective(e.cfg, alias)
	switch {
	case key == "" || strings.EqualFold(value, "none"):
		return sshRoute{hops: []sshSettings{dest}}, nil
	case key == "proxycommand":
		cmd, err := expandProxyCommand(value, dest)
		if err != nil {
			return sshRoute{}, fmt.Errorf("ssh_config ProxyCommand for %s: %w", alias, err)
		}
		return sshRoute{proxyCommand: cmd, hops: []sshSettings{dest}}, nil
	}
	var jumps []sshSettings
	for _, spec := range strings.Split(value, ",") {
		user, host, port, err := parseJumpSpec(strings.TrimSpace(spec))
		if err != nil {
			return sshRoute{}, fmt.Errorf("ssh_config ProxyJump for %s: %w", alias, err)
		}
		jumps = append(jumps, e.resolveHost(hostQuery{
			alias: host, user: user, port: port, jump: strings.TrimSpace(spec),
			fallbackKey: uriKey, fallbackKnownHosts: uriKnownHosts,
		}))
	}
	first := jumps[0]
	for _, seen := range path {
		if strings.EqualFold(seen, first.alias) {
			return sshRoute{}, fmt.Errorf("ssh_config: ProxyJump loop %s → %s (exclude the jump host from the pattern, e.g. `Host * !%s`, or give it `ProxyJump none` first)",
				strings.Join(path, " → "), first.alias, first.alias)
		}
	}
	if len(path) >= maxJumpDepth {
		return sshRoute{}, fmt.Errorf("ssh_config: ProxyJump nests deeper than %d hosts (%s)", maxJumpDepth, strings.Join(path, " → "))
	}
	r, err := e.routeTo(first.alias, first, uriKey, uriKnownHosts, append(path, first.alias))
	if err != nil {
		return sshRoute{}, err
	}
	r.hops = append(r.hops, jumps[1:]...)
	r.hops = append(r.hops, dest)
	return r, nil
}

// firstProxyDirective returns the first ProxyJump or ProxyCommand that
// applies to alias, in file order, with its key in lower case. Inside an
// Include the library does not expose the order of lines, so there
// ProxyJump is taken when the included files set both.
func firstProxyDirective(cfg *sshconfig.Config, alias string) (key, value string) {
	if cfg == nil {
		return "", ""
	}
	for _, h := range cfg.Hosts {
		if !h.Matches(alias) {
			continue
		}
		for _, n := range h.Nodes {
			switch n := n.(type) {
			case *sshconfig.KV:
				if k := strings.ToLower(n.Key); k == "proxyjump" || k == "proxycommand" {
					return k, strings.TrimSpace(n.Value)
				}
			case *sshconfig.Include:
				if v := n.Get(alias, "ProxyJump"); v != "" {
					return "proxyjump", strings.TrimSpace(v)
				}
				if v := n.Get(alias, "ProxyCommand"); v != "" {
					return "proxycommand", strings.TrimSpace(v)
				}
			}
		}
	}
	return "", ""
}

// parseJumpSpec reads one ProxyJump element: [user@]host[:port] or
// ssh://[user@]host[:port]; an IPv6 address with a port is bracketed.
func parseJumpSpec(spec string) (user, host, port string, err error) {
	if spec == "" {
		return "", "", "", fmt.Errorf("empty jump host in the list")
	}
	if strings.HasPrefix(spec, "ssh://") {
		u, err := url.Parse(spec)
		if err != nil || u.Hostname() == "" || (u.Path != "" && u.Path != "/") {
			return "", "", "", fmt.Errorf("jump host %q: want ssh://[user@]host[:port]", spec)
		}
		return u.User.Username(), u.Hostname(), u.Port(), nil
	}
	if i := strings.LastIndexByte(spec, '@'); i >= 0 {
		user, spec = spec[:i], spec[i+1:]
		if user == "" {
			return "", "", "", fmt.Errorf("jump host %q: empty user before @", spec)
		}
	}
	host = spec
	if h, p, err := net.SplitHostPort(spec); err == nil {
		host, port = h, p
	} else if strings.HasPrefix(spec, "[") && strings.HasSuffix(spec, "]") {
		host = spec[1 : len(spec)-1]
	}
	if host == "" || strings.ContainsAny(host, " /[]") {
		return "", "", "", fmt.Errorf("jump host %q: want [user@]host[:port]", spec)
	}
	if port != "" {
		if _, err := net.LookupPort("tcp", port); err != nil {
			return "", "", "", fmt.Errorf("jump host %q: bad port %q", spec, port)
		}
	}
	return user, host, port, nil
}

// expandProxyCommand expands OpenSSH's tokens in a ProxyCommand: %h the
// host name (after HostName), %p the port, %r the remote user, %n the
// name as given, %% a percent sign.
func expandProxyCommand(cmd string, s sshSettings) (string, error) {
	var b strings.Builder
	for i := 0; i < len(cmd); i++ {
		if cmd[i] != '%' {
			b.WriteByte(cmd[i])
			continue
		}
		if i+1 == len(cmd) {
			return "", fmt.Errorf("%q ends with a lone %%", cmd)
		}
		i++
		switch cmd[i] {
		case 'h':
			b.WriteString(s.hostName)
		case 'p':
			b.WriteString(s.port)
		case 'r':
			b.WriteString(s.user)
		case 'n':
			b.WriteString(s.alias)
		case '%':
			b.WriteByte('%')
		default:
			return "", fmt.Errorf("%q: token %%%c is not supported (%%h %%p %%r %%n %%%% are)", cmd, cmd[i])
		}
	}
	return b.String(), nil
}
