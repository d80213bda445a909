package ceph

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Where librados looks when nothing names a ceph.conf or a keyring (Ceph 16,
// src/common/config.cc and the keyring option's default). The rbd and ceph
// CLIs and QEMU's rbd driver all go through librados, so an admin whose
// `rbd --id libvirt ls` works without -c or -k has files at these places.
// Checked on this machine: `ceph-conf -n client.libvirt --show-config-value
// keyring` prints defaultKeyrings, and strace of ceph-conf shows it opening
// defaultConfs in this order.
var (
	defaultConfs    = []string{"/etc/ceph/$cluster.conf", "$home/.ceph/$cluster.conf", "$cluster.conf"}
	defaultKeyrings = []string{"/etc/ceph/$cluster.$name.keyring", "/etc/ceph/$cluster.keyring", "/etc/ceph/keyring", "/etc/ceph/keyring.bin"}
)

// defaultCluster is $cluster: librados's cluster name unless a program
// passes --cluster, which stowage never does.
const defaultCluster = "ceph"

// Locator finds ceph.conf and a cephx user's keyring where librados would.
// It only reads files; where it reads is injected, so a test points it at
// a temporary directory.
type Locator struct {
	// Root is prefixed to every path looked at ("" is the real root).
	Root string
	// Getenv reads CEPH_CONF and HOME; nil reads no environment.
	Getenv func(string) string
	// Dir is the working directory, against which librados resolves its
	// last candidate, a relative "ceph.conf"; "" skips that candidate.
	Dir string
}

// HostLocator looks where librados would in this process: the real
// filesystem, the process's environment and working directory.
func HostLocator() Locator {
	dir, _ := os.Getwd()
	return Locator{Getenv: os.Getenv, Dir: dir}
}

// Place is one place looked at and what was there.
type Place struct {
	// What is "ceph.conf", "keyring" or "CEPH_CONF" (the variable itself).
	What    string
	Path    string
	Outcome string
}

func (p Place) String() string {
	if p.Path == "" {
		return p.What + ": " + p.Outcome
	}
	return p.What + " " + p.Path + ": " + p.Outcome
}

const found = "found"

func (l Locator) getenv(k string) string {
	if l.Getenv == nil {
		return ""
	}
	return l.Getenv(k)
}

// path maps a path as librados would see it to the one to open: relative
// paths against Dir, and everything under Root.
func (l Locator) path(p string) string {
	if !filepath.IsAbs(p) {
		if l.Dir == "" {
			return ""
		}
		p = filepath.Join(l.Dir, p)
	}
	if l.Root == "" {
		return filepath.Clean(p)
	}
	return filepath.Join(l.Root, p)
}

// expand replaces Ceph's metavariables ($cluster, $type, $id, $name,
// $home, also as ${var}) for client.user. Others stay as written, so a
// path using them is reported as not found rather than guessed.
func (l Locator) expand(s, user string) string {
	vars := map[string]string{"cluster": defaultCluster, "type": "client", "id": user,
		"name": "client." + user, "home": l.getenv("HOME")}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			b.WriteByte(s[i])
			continue
		}
		rest, braced := s[i+1:], false
		if strings.HasPrefix(rest, "{") {
			rest, braced = rest[1:], true
		}
		n := 0
		for n < len(rest) && (rest[n] == '_' || rest[n] >= 'a' && rest[n] <= 'z' || rest[n] >= 'A' && rest[n] <= 'Z' || rest[n] >= '0' && rest[n] <= '9') {
			n++
		}
		v, ok := vars[rest[:n]]
		if !ok || braced && !strings.HasPrefix(rest[n:], "}") {
			b.WriteByte('$')
			continue
		}
		b.WriteString(v)
		i += n
		if braced {
			i += 2
		}
	}
	return b.String()
}

// splitList splits a Ceph path list as librados does (get_str_list:
// commas, semicolons, spaces, tabs and '=').
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(",; \t=", r) })
}

// Conf finds the ceph.conf librados would read for client.user. given, when
// set, is the admin's explicit choice (a flag or config.yaml) and is taken
// as it is. Otherwise: the files CEPH_CONF lists (librados then looks
// nowhere else), else /etc/ceph/ceph.conf, $HOME/.ceph/ceph.conf and
// ./ceph.conf. The first that exists wins; none is not an error (a libvirt
// rbd pool names its monitors). A file that exists but cannot be read is an
// error, as it is for librados.
func (l Locator) Conf(given, user string) (string, []Place, error) {
	if given != "" {
		p := Place{What: "ceph.conf", Path: given, Outcome: "given"}
		if err := readable(given); err != nil {
			return "", []Place{p}, fmt.Errorf("ceph.conf %s: %w", given, err)
		}
		return given, []Place{p}, nil
	}
	list := defaultConfs
	var looked []Place
	if env := l.getenv("CEPH_CONF"); env != "" {
		list = splitList(env)
		looked = append(looked, Place{What: "CEPH_CONF", Outcome: "set, so librados reads only the files it lists"})
	} else {
		looked = append(looked, Place{What: "CEPH_CONF", Outcome: "not set"})
	}
	for _, c := range list {
		p := l.path(l.expand(c, user))
		if p == "" {
			continue
		}
		err := readable(p)
		switch {
		case err == nil:
			return p, append(looked, Place{"ceph.conf", p, found}), nil
		case errors.Is(err, fs.ErrNotExist):
			looked = append(looked, Place{"ceph.conf", p, "not found"})
		default:
			looked = append(looked, Place{"ceph.conf", p, err.Error()})
			return "", looked, fmt.Errorf("ceph.conf %s: %w", p, err)
		}
	}
	return "", looked, nil
}

// readable reports why a path cannot be opened as a regular file.
func readable(p string) error {
	f, err := os.Open(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fs.ErrNotExist
		}
		return errors.Unwrap(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return errors.New("not a regular file")
	}
	return nil
}

// Keyring finds the keyring holding client.user's key: the keyring option
// that conf sets for that client ([client.user], then [client], then
// [global]), else librados's defaults, /etc/ceph/ceph.client.USER.keyring,
// /etc/ceph/ceph.keyring, /etc/ceph/keyring, /etc/ceph/keyring.bin. Unlike
// librados, which takes the first file that opens, it skips a text keyring
// that holds no [client.user] entry and says so. It returns "" when none
// holds the key; looked names every path tried.
func (l Locator) Keyring(user, conf string) (string, []Place, error) {
	list, looked := defaultKeyrings, []Place(nil)
	if conf != "" {
		opt, err := confKeyring(conf, "client."+user)
		if err != nil {
			return "", []Place{{"ceph.conf", conf, err.Error()}}, fmt.Errorf("ceph.conf %s: %w", conf, err)
		}
		if opt != "" {
			list = splitList(opt)
			looked = append(looked, Place{"ceph.conf", conf, fmt.Sprintf("sets keyring = %s for client.%s, so librados looks nowhere else", opt, user)})
		}
	}
	for _, k := range list {
		p := l.path(l.expand(k, user))
		if p == "" {
			continue
		}
		outcome := keyringHolds(p, "client."+user)
		looked = append(looked, Place{"keyring", p, outcome})
		if outcome == found {
			return p, looked, nil
		}
	}
	return "", looked, nil
}

// WantKeyring is where client.user's keyring belongs by convention: the
// first candidate Keyring would look at.
func (l Locator) WantKeyring(user, conf string) string {
	list := defaultKeyrings
	if conf != "" {
		if opt, err := confKeyring(conf, "client."+user); err == nil && opt != "" {
			list = splitList(opt)
		}
	}
	if len(list) == 0 {
		return ""
	}
	return l.path(l.expand(list[0], user))
}

// keyringHolds says whether a keyring file has an entry for entity: "found",
// or why not. Only section names are looked at; the file's bytes, keys
// included, are cleared before returning.
func keyringHolds(p, entity string) string {
	if err := readable(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "not found"
		}
		return "cannot be read: " + err.Error()
	}
	f, err := os.Open(p)
	if err != nil {
		return "cannot be read: " + err.Error()
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 1<<20))
	defer clear(b)
	if err != nil {
		return "cannot be read: " + err.Error()
	}
	if strings.HasSuffix(p, ".bin") {
		return found // a binary keyring: librados checks its entries
	}
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) > 1 && line[0] == '[' && line[len(line)-1] == ']' {
			names = append(names, string(bytes.TrimSpace(line[1:len(line)-1])))
		}
	}
	if slices.Contains(names, entity) {
		return found
	}
	if len(names) == 0 {
		return "exists but holds no entry (no [" + entity + "] section)"
	}
	return fmt.Sprintf("exists but holds no [%s] entry (only %s)", entity, strings.Join(names, ", "))
}

// confKeyring returns the keyring option a ceph.conf sets for entity, by
// Ceph's precedence: [entity], then [client], then [global]. Only that
// option is kept: a conf may also hold a key inline, which is never copied
// out of the file's bytes.
func confKeyring(p, entity string) (string, error) {
	b, err := os.ReadFile(p)
	defer clear(b)
	if err != nil {
		return "", fmt.Errorf("cannot be read: %w", errors.Unwrap(err))
	}
	b = bytes.ReplaceAll(b, []byte("\\\n"), nil) // continuation lines
	defer clear(b)
	vals := map[string]string{}
	section := ""
	for line := range bytes.Lines(b) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			if end := bytes.IndexByte(line, ']'); end > 0 {
				section = string(bytes.TrimSpace(line[1:end]))
			}
			continue
		}
		k, v, ok := bytes.Cut(line, []byte("="))
		if !ok || normalKey(string(k)) != "keyring" {
			continue
		}
		vals[section] = confValue(string(v))
	}
	for _, s := range []string{entity, "client", "global"} {
		if v, ok := vals[s]; ok {
			return v, nil
		}
	}
	return "", nil
}

// normalKey folds a ceph.conf option name as Ceph does: spaces and dashes
// are underscores, runs of them one.
func normalKey(k string) string {
	f := strings.FieldsFunc(strings.TrimSpace(k), func(r rune) bool { return r == ' ' || r == '\t' || r == '-' || r == '_' })
	return strings.Join(f, "_")
}

// confValue is a value without its inline comment or quotes.
func confValue(v string) string {
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, `"`) {
		if end := strings.IndexByte(v[1:], '"'); end >= 0 {
			return v[1 : end+1]
		}
	}
	if i := strings.IndexAny(v, "#;"); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSpace(v)
}

// KeyringKey reads client.user's key from a keyring file (text: the key
// line of its [client.user] section), for a program that must be handed
// the key itself (QEMU's key-secret). The file's bytes are cleared; the
// caller clears the key.
func KeyringKey(path, user string) ([]byte, error) {
	b, err := os.ReadFile(path)
	defer clear(b)
	if err != nil {
		return nil, fmt.Errorf("read keyring: %w", err)
	}
	entity := "client." + user
	section := ""
	for line := range bytes.Lines(b) {
		line = bytes.TrimSpace(line)
		if len(line) > 1 && line[0] == '[' && line[len(line)-1] == ']' {
			section = string(bytes.TrimSpace(line[1 : len(line)-1]))
			continue
		}
		k, v, ok := bytes.Cut(line, []byte("="))
		if ok && section == entity && string(bytes.TrimSpace(k)) == "key" {
			return bytes.Clone(bytes.TrimSpace(v)), nil
		}
	}
	return nil, fmt.Errorf("keyring %s holds no key for %s", path, entity)
}
