package cli

import (
	"context"

	"stowage/cli/env"
	"stowage/iscsi"
	"stowage/libvirtx"
	"stowage/plan"
	"stowage/ui/common"
	"stowage/ui/iscsiteardown"
)

// teardownISCSIAction builds common.Actions.TeardownISCSI: nil under
// --readonly (the key vanishes). The preview and the run each dial a
// connection of their own with the iSCSI bound (a logout or a vgremove
// over the SAN outlasts the console's per-call timeout, and a call that
// times out closes its connection, which must not be the browser's); the
// other hosts' VMs are checked on the console's sessions.
func teardownISCSIAction(e *env.Env, connect connector) func(common.DriveTarget) common.Component {
	if e.ReadOnly {
		return nil
	}
	return func(at common.DriveTarget) common.Component {
		b := &teardownBackend{e: e, uri: at.HostURI, others: otherHosts(connect, e.Hosts, at.HostURI)}
		return iscsiteardown.New(iscsiteardown.Deps{At: at, Backend: b, Styles: e.Styles,
			Keys: e.Keys.Confirm, Close: e.Keys.Progress.Close})
	}
}

// teardownBackend is iscsiteardown.Backend on one host.
type teardownBackend struct {
	e      *env.Env
	uri    string
	others func(context.Context) []iscsi.OtherHost
}

func (b *teardownBackend) dial(ctx context.Context) (*libvirtx.Conn, []iscsi.OtherHost, plan.Runner, error) {
	c, err := libvirtx.DialOwned(ctx, b.uri, libvirtx.Options{Timeout: max(b.e.Timeout, iscsiCallTimeout), SSHConfig: b.e.SSHConfig})
	if err != nil {
		return nil, nil, plan.Runner{}, err
	}
	var others []iscsi.OtherHost
	if b.others != nil {
		others = b.others(ctx)
	}
	return c, others, plan.Runner{Host: b.uri, Audit: b.e.Audit, Log: b.e.Log}, nil
}

func (b *teardownBackend) Preview(ctx context.Context, pool string) (iscsi.TeardownPreview, error) {
	c, others, r, err := b.dial(ctx)
	if err != nil {
		return iscsi.TeardownPreview{}, err
	}
	defer c.Close()
	return iscsi.PreviewTeardown(ctx, c, r, others, pool, "")
}

func (b *teardownBackend) Run(ctx context.Context, pv iscsi.TeardownPreview, confirm string, progress func(iscsi.Step)) (iscsi.TeardownResult, error) {
	c, others, r, err := b.dial(ctx)
	if err != nil {
		return iscsi.TeardownResult{}, err
	}
	defer c.Close()
	return iscsi.RunTeardown(ctx, c, r, others, pv, confirm, progress)
}
