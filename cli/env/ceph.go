package env

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"stowage/ceph"
	"stowage/drive"
	"stowage/libvirtx"
	"stowage/model"
)

// cephAccess is what the admin configured to reach a host's Ceph: the
// flag wins over config.yaml's host entry; empty fields are left to the
// conventions librados follows (see dialCeph).
type cephAccess struct{ conf, keyring string }

func cephAccessFor(uri string, cfg Config, flagConf, flagKeyring string) cephAccess {
	a := cephAccess{conf: flagConf, keyring: flagKeyring}
	for _, h := range cfg.Hosts {
		if h.URI == uri {
			if a.conf == "" {
				a.conf = h.CephConf
			}
			if a.keyring == "" {
				a.keyring = h.CephKeyring
			}
		}
	}
	return a
}

// DriveDeps builds the drive workflows' dependencies for one host on
// conn: the environment's audit log and logger, and how to reach Ceph for
// its rbd pools (see dialCeph). cephConf and cephKeyring are the flags'
// (empty: config.yaml's host entry, then librados's conventions).
func (e *Env) DriveDeps(conn *libvirtx.Conn, uri, cephConf, cephKeyring string) drive.Deps {
	given := cephAccessFor(uri, e.Config, cephConf, cephKeyring)
	d := drive.Deps{Libvirt: conn, Host: uri, Log: e.Log, Audit: e.Audit}
	if ceph.Supported() {
		log := e.Log
		d.Ceph = func(ctx context.Context, p model.Pool) (drive.Ceph, error) {
			return dialCeph(ctx, conn, p, given, ceph.HostLocator(), log)
		}
	}
	return d
}

// secretReader is what dialCeph needs of libvirt: a pool's cephx secret,
// and its value when the secret is not private.
type secretReader interface {
	Secret(ctx context.Context, uuid string) (model.Secret, error)
	SecretValue(ctx context.Context, uuid string) ([]byte, error)
}

// dialCeph connects to the cluster behind an rbd pool as the pool's cephx
// user (its <auth username>, else admin), the monitors taken from the pool.
//   - ceph.conf: the given one (flag, then config.yaml), else where
//     librados looks (CEPH_CONF, /etc/ceph/ceph.conf, ~/.ceph/ceph.conf,
//     ./ceph.conf), else none.
//   - the key: the given keyring; else the pool's libvirt secret when it
//     is not private; else the keyring librados would use (the conf's
//     keyring option, /etc/ceph/ceph.client.USER.keyring, ...).
//
// When nothing holds the key, the error names every place looked at and
// what would be right. The key never leaves []byte and is cleared.
func dialCeph(ctx context.Context, secrets secretReader, p model.Pool, given cephAccess, loc ceph.Locator, log *slog.Logger) (drive.Ceph, error) {
	c, err := cephConfig(ctx, secrets, p, given, loc)
	defer clear(c.Key)
	if err != nil {
		return nil, err
	}
	if log != nil {
		from := "keyring " + c.Keyring
		if len(c.Key) > 0 {
			from = "libvirt secret " + p.AuthSecretUUID
		}
		log.Info("ceph access", "pool", p.Name, "user", "client."+c.User, "conf", c.ConfFile, "key_from", from)
	}
	cl, err := ceph.Connect(ctx, c)
	if err != nil {
		return nil, err
	}
	return cl, nil
}

// cephConfig decides how dialCeph connects (see there). On success a key
// read from libvirt is in Key, and the caller clears it.
func cephConfig(ctx context.Context, secrets secretReader, p model.Pool, given cephAccess, loc ceph.Locator) (ceph.Config, error) {
	c := ceph.Config{Monitors: p.SourceHosts, User: p.AuthUser, Timeout: 20 * time.Second}
	if c.User == "" {
		c.User = "admin"
	}
	fail := func(format string, args ...any) (ceph.Config, error) {
		return ceph.Config{}, fmt.Errorf("cannot reach Ceph for pool %s as client.%s: "+format, append([]any{p.Name, c.User}, args...)...)
	}
	conf, confLooked, err := loc.Conf(given.conf, c.User)
	if err != nil {
		return fail("%w", err)
	}
	c.ConfFile = conf
	if given.keyring != "" {
		c.Keyring = given.keyring
		return c, nil
	}
	var why string
	if p.AuthSecretUUID != "" {
		key, reason := secretKey(ctx, secrets, p.AuthSecretUUID, c.User)
		if key != nil {
			c.Key = key
			return c, nil
		}
		why = reason + "; "
	}
	keyring, looked, err := loc.Keyring(c.User, conf)
	if err != nil {
		return fail("%w", err)
	}
	if keyring != "" {
		c.Keyring = keyring
		return c, nil
	}
	var b strings.Builder
	for _, pl := range append(confLooked, looked...) {
		b.WriteString("\n  " + pl.String())
	}
	want := loc.WantKeyring(c.User, conf)
	return fail("%sno keyring for client.%s where librados looks:%s\n"+
		"Put client.%s's keyring at %s (mode 0600; `ceph auth get client.%s -o %s` on a Ceph admin node writes it), "+
		"or set ceph_conf and ceph_keyring for this host in config.yaml, or pass --ceph-conf and --ceph-keyring",
		why, c.User, b.String(), c.User, want, c.User, want)
}

// secretKey reads a cephx key from the pool's libvirt secret, base64
// encoded as librados takes it: the key, or nil and why not.
func secretKey(ctx context.Context, secrets secretReader, uuid, user string) ([]byte, string) {
	s, err := secrets.Secret(ctx, uuid)
	if err != nil {
		return nil, fmt.Sprintf("the pool's libvirt secret %s cannot be read (%v)", uuid, err)
	}
	if s.Private {
		return nil, fmt.Sprintf("the cephx key of client.%s is in libvirt secret %s, which is private: libvirt never gives it back", user, uuid)
	}
	raw, err := secrets.SecretValue(ctx, uuid)
	defer clear(raw)
	if err != nil {
		return nil, fmt.Sprintf("libvirt secret %s (client.%s's key) gave no value (%v)", uuid, user, err)
	}
	if len(raw) == 0 {
		return nil, fmt.Sprintf("libvirt secret %s (client.%s's key) is empty", uuid, user)
	}
	key := make([]byte, base64.StdEncoding.EncodedLen(len(raw)))
	base64.StdEncoding.Encode(key, raw)
	return key, ""
}

// CephConfig decides how to reach an rbd pool's cluster exactly as the
// drive workflows do (see dialCeph), for a command that hands the key to
// QEMU as well (the encryption benchmark). A key read from libvirt is in
// Key, else Keyring names the file; the caller clears Key.
func (e *Env) CephConfig(ctx context.Context, conn *libvirtx.Conn, p model.Pool, uri, cephConf, cephKeyring string) (ceph.Config, error) {
	return cephConfig(ctx, conn, p, cephAccessFor(uri, e.Config, cephConf, cephKeyring), ceph.HostLocator())
}

// CephAdmin is client.admin's access to the cluster c reaches, when this
// machine has its keyring where librados looks (the doctor reads other
// users' caps with it); ok is false when it has none.
func CephAdmin(c ceph.Config) (admin ceph.Config, ok bool) {
	keyring, _, err := ceph.HostLocator().Keyring("admin", c.ConfFile)
	if err != nil || keyring == "" {
		return ceph.Config{}, false
	}
	return ceph.Config{ConfFile: c.ConfFile, Monitors: c.Monitors, User: "admin", Keyring: keyring, Timeout: c.Timeout}, true
}
