package cli

import (
	"context"
	"time"

	tea "charm.land/bubbletea/v2"

	"stowage/cli/env"
	"stowage/iscsi"
	"stowage/libvirtx"
	"stowage/model"
	"stowage/ui/common"
	"stowage/ui/pooldefine"
)

// definePoolCallTimeout bounds each call of the define-pool screen's own
// connection: a start is a mount or an iSCSI login, a build a mkfs or a
// vgcreate, longer than the console's per-call timeout.
const definePoolCallTimeout = 3 * time.Minute

// poolDefineBackend adapts a libvirt connection to the screen.
type poolDefineBackend struct{ *libvirtx.Conn }

// PoolXML renders the XML the review shows (the rbd secret's UUID is
// known only once the run defines it).
func (poolDefineBackend) PoolXML(s model.PoolSpec) (string, error) {
	return libvirtx.PoolSpecXML(s, "(the new secret's uuid)")
}

// definePoolAction builds common.Actions.DefinePool: nil under
// --readonly (the key vanishes).
func definePoolAction(e *env.Env) func(common.DriveTarget) common.Component {
	if e.ReadOnly {
		return nil
	}
	return func(at common.DriveTarget) common.Component {
		// The screen's own connection, as the iSCSI wizard's: a long
		// mount or login that times out closes only this one.
		scope := e.Connector.Scope(e.Dial(max(e.Timeout, definePoolCallTimeout)))
		uri := at.HostURI
		d := pooldefine.Deps{
			Connect: func(ctx context.Context) (pooldefine.Backend, error) {
				c, err := scope.Conn(ctx, uri)
				if err != nil {
					return nil, err
				}
				return poolDefineBackend{c}, nil
			},
			ReadSecret: readPoolSecret,
			Styles:     e.Styles, Keys: e.Keys, Audit: e.Audit, Timeout: e.Timeout,
		}
		return &poolDefineScreen{Model: pooldefine.New(d, at), close: scope.Release}
	}
}

// readPoolSecret reads the CHAP secret file (0600, iscsi's rules) or,
// with a cephx user, that user's key from a keyring file.
func readPoolSecret(path, cephUser string) ([]byte, error) {
	if cephUser != "" {
		return readCephxKey(path, cephUser)
	}
	return iscsi.ReadSecretFile(path)
}

// poolDefineScreen releases the screen's connection when it closes.
type poolDefineScreen struct {
	*pooldefine.Model
	close func()
}

func (p *poolDefineScreen) Update(msg tea.Msg) (common.Component, tea.Cmd) {
	_, cmd := p.Model.Update(msg)
	return p, onPop(cmd, p.close)
}
