package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"

	"stowage/iscsi"
	"stowage/libvirtx"
	"stowage/plan"
	"stowage/themes"
	"stowage/ui/common"
	"stowage/ui/iscsiwizard"
)

// lvmOnISCSIAction builds common.Actions.LVMOnISCSI: nil under --readonly
// (the wizard changes the host). Each wizard dials a connection of its own:
// its logins and builds run for minutes, and a call that times out closes
// its connection (libvirtx.Conn.do), which must not take the browser's down.
// hosts are every host the console is connected to and connect reaches
// them on the console's sessions: the wizard refuses a LUN that a VM on
// any of them uses (only reads, so the sessions' per-call bound fits).
func lvmOnISCSIAction(readonly bool, styles themes.Styles, timeout time.Duration, connect connector, hosts []string) func(common.DriveTarget) common.Component {
	if readonly {
		return nil
	}
	return func(at common.DriveTarget) common.Component {
		return newISCSIWizard(at.HostURI, at.Pool, styles, timeout, otherHosts(connect, hosts, at.HostURI))
	}
}

func newISCSIWizard(uri, presetPool string, styles themes.Styles, timeout time.Duration, others func(context.Context) []iscsi.OtherHost) *iscsiwizard.Model {
	return iscsiwizard.New(iscsiwizard.Deps{HostURI: uri, PresetPool: presetPool, Styles: styles,
		Keys: iscsiwizard.DefaultKeyMap(), Timeout: iscsiwizard.DefaultPhaseTimeout, Connect: wizardConnect(uri, timeout),
		Audit: plan.NewAudit(plan.DefaultAuditPath()), Others: others})
}

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

// iscsiCallTimeout is the least per-call bound on the wizard's own
// connection: one pool-start is a whole iSCSI login (open-iscsi retries
// for up to 2 minutes) and one pool-build a pvcreate over the SAN, so the
// console's per-call timeout (15 s) would cut them off.
const iscsiCallTimeout = 3 * time.Minute

// iscsiWizard runs the wizard alone (`stowage iscsi wizard --uri U`), for
// hosts where the browser is not wanted and for trying it out.
func iscsiWizard(args []string, _, stderr io.Writer) int {
	fs := flag.NewFlagSet("stowage iscsi wizard", flag.ContinueOnError)
	fs.SetOutput(stderr)
	uri := fs.String("uri", "qemu:///system", "libvirt URI of the hypervisor")
	portal := fs.String("portal", "", "preset the portal")
	theme := fs.String("theme", "dark", "colour theme")
	timeout := fs.Duration("timeout", iscsiCallTimeout, "bound on each libvirt call (at least 3m: a login is one call)")
	phase := fs.Duration("phase-timeout", iscsiwizard.DefaultPhaseTimeout, "bound on each phase (discovery, login, probe, build)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	pal, err := themes.Lookup(*theme)
	if err != nil {
		fmt.Fprintln(stderr, "stowage iscsi wizard:", err)
		return 2
	}
	w := iscsiwizard.New(iscsiwizard.Deps{HostURI: *uri, Portal: *portal, Styles: themes.Build(pal, os.Getenv("NO_COLOR") != ""),
		Keys: iscsiwizard.DefaultKeyMap(), Timeout: *phase, Connect: wizardConnect(*uri, *timeout),
		Audit: plan.NewAudit(plan.DefaultAuditPath())})
	if _, err := tea.NewProgram(standalone{c: w}).Run(); err != nil {
		fmt.Fprintln(stderr, "stowage iscsi wizard:", err)
		return 1
	}
	return 0
}

// wizardConnect gives the iSCSI wizard its own connection to uri (see
// cachedDial).
func wizardConnect(uri string, timeout time.Duration) func(context.Context) (iscsi.Host, error) {
	dial := cachedDial(max(timeout, iscsiCallTimeout))
	return func(ctx context.Context) (iscsi.Host, error) { return dial(ctx, uri) }
}

// cachedDial is a connector for screens that run outside the console's
// sessions: it dials on first use, keeps the connection, and dials again
// after it dropped (a timed-out call closes it). Safe for concurrent use
// from the screens' tea.Cmds.
func cachedDial(timeout time.Duration) connector {
	var mu sync.Mutex
	conns := map[string]*libvirtx.Conn{}
	return func(ctx context.Context, uri string) (*libvirtx.Conn, error) {
		mu.Lock()
		defer mu.Unlock()
		if c := conns[uri]; c != nil {
			select {
			case <-c.Disconnected():
			default:
				return c, nil
			}
		}
		c, err := libvirtx.Dial(ctx, uri, libvirtx.Options{Timeout: timeout})
		if err != nil {
			return nil, err
		}
		conns[uri] = c
		return c, nil
	}
}

// standalone hosts one component as a whole program: Pop quits.
type standalone struct{ c common.Component }

func (s standalone) Init() tea.Cmd { return s.c.Init() }

func (s standalone) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		s.c.SetSize(msg.Width, msg.Height)
	case common.PopMsg:
		return s, tea.Quit
	case tea.KeyPressMsg:
		if msg.String() == "ctrl+c" {
			return s, tea.Quit
		}
	}
	var cmd tea.Cmd
	s.c, cmd = s.c.Update(msg)
	return s, cmd
}

func (s standalone) View() tea.View { return tea.NewView(s.c.View()) }
