package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"reflect"
	"time"

	tea "charm.land/bubbletea/v2"

	"stowage/cli/env"
	"stowage/iscsi"
	"stowage/ui/common"
	"stowage/ui/iscsiwizard"
	"stowage/ui/standalone"
)

// iscsiCallTimeout is the least per-call bound on the wizard's own
// connection: one pool-start is a whole iSCSI login (open-iscsi retries
// for up to 2 minutes) and one pool-build a pvcreate over the SAN, so the
// console's per-call timeout (15 s) would cut them off.
const iscsiCallTimeout = 3 * time.Minute

// lvmOnISCSIAction builds common.Actions.LVMOnISCSI: nil under --readonly
// (the wizard changes the host). The other hosts are reached on connect
// (the console's sessions): the wizard refuses a LUN that a VM on any of
// them uses (only reads, so the sessions' per-call bound fits). Its
// "create the first drive" key opens createDrive (nil: not offered).
func lvmOnISCSIAction(e *env.Env, connect connector, createDrive func(common.DriveTarget) common.Component) func(common.DriveTarget) common.Component {
	if e.ReadOnly {
		return nil
	}
	return func(at common.DriveTarget) common.Component {
		return newISCSIWizard(e, iscsiwizard.Deps{HostURI: at.HostURI, PresetPool: at.Pool, CreateDrive: createDrive,
			Timeout: iscsiwizard.DefaultPhaseTimeout, Others: otherHosts(connect, e.Hosts, at.HostURI)}, e.Timeout)
	}
}

// newISCSIWizard opens the wizard on a connection of its own: its logins
// and builds run for minutes, and a call that times out closes its
// connection (libvirtx.Conn.do), which must not take the browser's down.
// That connection belongs to the screen: it is dialed on first use from a
// scope of the environment's connector and released when the wizard closes
// (closeOnPop; the socket is closed in the background, so the screen never
// waits on the daemon's answer), or closed at exit if it is still open.
func newISCSIWizard(e *env.Env, d iscsiwizard.Deps, timeout time.Duration) common.Component {
	scope := e.Connector.Scope(e.Dial(max(timeout, iscsiCallTimeout)))
	uri := d.HostURI
	d.Connect = func(ctx context.Context) (iscsi.Host, error) {
		c, err := scope.Conn(ctx, uri)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	d.Styles, d.Keys, d.Audit = e.Styles, e.Keys.ISCSI, e.Audit
	if len(d.Keys.Back.Keys()) == 0 {
		d.Keys = iscsiwizard.DefaultKeyMap() // an environment built without a keymap
	}
	return &closeOnPop{Model: iscsiwizard.New(d), close: scope.Release}
}

// closeOnPop is a screen whose resources are released when it closes: the
// moment its own Update asks the root to pop it. It embeds the screen, so
// every method the root looks for (Capturing, Title, …) is the screen's.
type closeOnPop struct {
	*iscsiwizard.Model
	close func()
}

func (c *closeOnPop) Update(msg tea.Msg) (common.Component, tea.Cmd) {
	next, cmd := c.Model.Update(msg)
	if m, ok := next.(*iscsiwizard.Model); ok {
		c.Model = m
	}
	return c, onPop(cmd, c.close)
}

// onPop wraps cmd so that close runs, off the UI goroutine, when the
// message it produces is the screen's PopMsg, also inside a batch or a
// sequence (bubbletea's sequence message is unexported: any message that
// is a slice of Cmds is rebuilt, of its own type, with each Cmd wrapped).
func onPop(cmd tea.Cmd, close func()) tea.Cmd {
	if cmd == nil {
		return nil
	}
	return func() tea.Msg {
		msg := cmd()
		if pop, ok := msg.(common.PopMsg); ok {
			close()
			return pop
		}
		v := reflect.ValueOf(msg)
		if !v.IsValid() || v.Kind() != reflect.Slice || v.Type().Elem() != cmdType {
			return msg
		}
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			c, _ := v.Index(i).Interface().(tea.Cmd)
			out.Index(i).Set(reflect.ValueOf(onPop(c, close)))
		}
		return out.Interface()
	}
}

var cmdType = reflect.TypeOf((*tea.Cmd)(nil)).Elem()

// otherHosts lists the hosts other than self, each with its connection or
// the reason it has none (the wizard then refuses the LUN: a VM there
// cannot be ruled out). Nil when there are none.
func otherHosts(connect connector, hosts []string, self string) func(context.Context) []iscsi.OtherHost {
	var rest []string
	for _, uri := range hosts {
		if uri != self {
			rest = append(rest, uri)
		}
	}
	if len(rest) == 0 {
		return nil
	}
	return func(ctx context.Context) []iscsi.OtherHost {
		out := make([]iscsi.OtherHost, 0, len(rest))
		for _, uri := range rest {
			c, err := connect(ctx, uri)
			if err != nil {
				out = append(out, iscsi.OtherHost{URI: uri, Err: err})
				continue
			}
			out = append(out, iscsi.OtherHost{URI: uri, Host: c})
		}
		return out
	}
}

// iscsiWizard runs the wizard alone (`stowage iscsi wizard [--uri U]`), for
// hosts where the browser is not wanted and for trying it out. Like the
// console it works in the environment: without --uri on the configured
// hosts' first, checking the others.
func iscsiWizard(args []string, _, stderr io.Writer) int {
	fs := flag.NewFlagSet("stowage iscsi wizard", flag.ContinueOnError)
	fs.SetOutput(stderr)
	uri := fs.String("uri", "", "libvirt URI of the hypervisor (default: config.yaml's first host, else "+env.DefaultURI+")")
	portal := fs.String("portal", "", "preset the portal")
	theme := fs.String("theme", "", "colour theme (default: $STOWAGE_THEME, config.yaml's theme, else "+env.DefaultTheme+")")
	timeout := fs.Duration("timeout", 0, "bound on each libvirt call, at least 3m: a login is one call (default: config.yaml's timeout, raised to 3m)")
	phase := fs.Duration("phase-timeout", iscsiwizard.DefaultPhaseTimeout, "bound on each phase (discovery, login, probe, build)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	e, err := env.Load(env.Flags{Theme: *theme, Timeout: *timeout, UI: true})
	if err != nil {
		fmt.Fprintln(stderr, "stowage iscsi wizard:", err)
		return 2
	}
	defer e.Close()
	host, err := e.Host(*uri)
	if err != nil {
		fmt.Fprintln(stderr, "stowage iscsi wizard:", err)
		return 2
	}
	// Reads share the environment's connections (closed at exit); the
	// wizard has its own, and so does a drive workflow it leads to.
	w := newISCSIWizard(e, iscsiwizard.Deps{HostURI: host, Portal: *portal, Timeout: *phase,
		CreateDrive: driveActions(e, e.Connector.Conn).CreateDrive,
		Others:      otherHosts(e.Connector.Conn, e.Hosts, host)}, e.Timeout)
	if _, err := standalone.Run(w, e.Keys.Quit); err != nil {
		fmt.Fprintln(stderr, "stowage iscsi wizard:", err)
		return 1
	}
	return 0
}
