// Package drivetransfer is the console's wipe, upload and download of a
// drive: a huh form (the wipe algorithm, or the local file, checked as it
// is typed), the checks of the host (drive.PrepareWipe/Upload/Download,
// refusals shown with their reason), a confirmation (the drive's name
// typed for wipe and upload, which overwrite it), then the progress view
// (a bar with MiB/s and the time left for a stream, a spinner for a wipe,
// which has no progress). Closing the progress pops driveprogress.DoneMsg:
// the browser refreshes.
//
// It imports model, drive (types and the local file checks), ui/common,
// ui/keys, ui/driveprogress and ui/drivewizard (Deps, form keys); never
// libvirtx or ceph: the host comes in through Backend.
package drivetransfer

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"

	"stowage/drive"
	"stowage/model"
	"stowage/ui/common"
	"stowage/ui/driveprogress"
	"stowage/ui/drivewizard"
	"stowage/ui/keys"
)

// Backend is what the screen needs of one host; cli adapts the drive
// workflows (on a connection of their own) to it.
type Backend interface {
	Volume(ctx context.Context, pool, name string) (model.Volume, error)
	PrepareWipe(ctx context.Context, pool, name, algorithm string) (drive.PreparedTransfer, error)
	PrepareUpload(ctx context.Context, pool, name, file string) (drive.PreparedTransfer, error)
	PrepareDownload(ctx context.Context, pool, name, file string) (drive.PreparedTransfer, error)
	Wipe(ctx context.Context, p drive.PreparedTransfer, ev chan<- drive.Event) (drive.TransferResult, error)
	Upload(ctx context.Context, p drive.PreparedTransfer, ev chan<- drive.Event) (drive.TransferResult, error)
	Download(ctx context.Context, p drive.PreparedTransfer, ev chan<- drive.Event) (drive.TransferResult, error)
}

// Deps are the drive screens' Deps plus the transfer backend of a host.
type Deps struct {
	drivewizard.Deps
	Transfer func(hostURI string) (Backend, error)
}

// Action is what the screen does.
type Action int

// The three actions.
const (
	Wipe Action = iota
	Upload
	Download
)

func (a Action) String() string { return [...]string{"wipe", "upload", "download"}[a] }

type stage int

const (
	loading stage = iota
	form
	preparing
	confirming
	running
)

// Model is the screen.
type Model struct {
	deps    Deps
	at      common.DriveTarget
	action  Action
	backend Backend
	stage   stage
	vol     model.Volume
	// algorithm and file are the form's values.
	algorithm, file string
	form            *huh.Form
	prepared        drive.PreparedTransfer
	input           textinput.Model
	err             error
	req             common.Requests
	progress        *driveprogress.Model
	keys            keys.ConfirmKeys
	back            key.Binding
	closed          bool
	width, height   int
}

type volumeLoaded struct {
	common.Route
	v   model.Volume
	err error
}

type prepared struct {
	common.Route
	p   drive.PreparedTransfer
	err error
}

// NewWipe opens the wipe of at's volume.
func NewWipe(d Deps, at common.DriveTarget) common.Component { return newModel(d, at, Wipe) }

// NewUpload opens the upload of a local file into at's volume.
func NewUpload(d Deps, at common.DriveTarget) common.Component { return newModel(d, at, Upload) }

// NewDownload opens the download of at's volume into a new local file.
func NewDownload(d Deps, at common.DriveTarget) common.Component { return newModel(d, at, Download) }

func newModel(d Deps, at common.DriveTarget, a Action) *Model {
	k := d.Bindings()
	m := &Model{deps: d, at: at, action: a, algorithm: "zero", input: textinput.New(), keys: k.Confirm, back: k.DriveWizard.Back}
	m.keys.Mode.SetEnabled(false)
	m.input.Placeholder = model.SafeText(at.Volume)
	return m
}

// Init reads the volume (its capacity bounds an upload's file).
func (m *Model) Init() tea.Cmd {
	if m.deps.Transfer == nil {
		m.err = fmt.Errorf("%s is not available here", m.action)
		return nil
	}
	b, err := m.deps.Transfer(m.at.HostURI)
	if err != nil {
		m.err = err
		return nil
	}
	m.backend = b
	id, timeout, at := m.req.New(), m.deps.Deps.Timeout, m.at
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		v, err := b.Volume(ctx, at.Pool, at.Volume)
		return volumeLoaded{Route: id, v: v, err: err}
	}
}

func (m *Model) buildForm() {
	var field huh.Field
	title := model.SafeText(m.at.Pool + "/" + m.at.Volume)
	switch m.action {
	case Wipe:
		var opts []huh.Option[string]
		for _, a := range model.WipeAlgorithms {
			opts = append(opts, huh.NewOption(a, a))
		}
		field = huh.NewSelect[string]().Title("Wipe " + title + " with").
			Description("libvirt's algorithms; rbd pools: zero or trim; others: no trim, and all but zero need the host's scrub").
			Options(opts...).Value(&m.algorithm).Validate(m.validateAlgorithm)
	case Upload:
		field = huh.NewInput().Title("Upload into " + title + " from local file").
			Description(fmt.Sprintf("overwrites the drive from its first byte; at most %s", model.IBytes(m.vol.Capacity))).
			Value(&m.file).Validate(m.validateUpload)
	case Download:
		field = huh.NewInput().Title("Download " + title + " into new local file").
			Description(fmt.Sprintf("%s; an existing file is never overwritten", model.IBytes(m.vol.Capacity))).
			Value(&m.file).Validate(m.validateDownload)
	}
	m.form = huh.NewForm(huh.NewGroup(field)).WithTheme(huh.ThemeFunc(huh.ThemeBase)).WithShowHelp(true)
	m.form.WithKeyMap(drivewizard.FormKeys(m.deps.Bindings().Form, "back"))
	if m.width > 0 {
		m.form.WithWidth(m.width)
	}
}

// The validators run as the admin types. Upload and download look at the
// local file system (a stat and an access check of one path: local,
// bounded, no host call); the host's own checks run in a Cmd afterwards.
func (m *Model) validateAlgorithm(a string) error {
	_, err := model.WipeAlgorithm(a)
	return err
}

func (m *Model) validateUpload(path string) error {
	_, err := drive.CheckUploadFile(expand(path), m.vol.Capacity)
	return err
}

func (m *Model) validateDownload(path string) error { return drive.CheckDownloadFile(expand(path)) }

// expand makes a typed path absolute (relative to the console's working
// directory), so the checks and the run agree on it.
func expand(path string) string {
	path = strings.TrimSpace(path)
	if path == "" {
		return ""
	}
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

func (m *Model) prepare() tea.Cmd {
	m.stage, m.err = preparing, nil
	id, b, at, a, alg, file := m.req.New(), m.backend, m.at, m.action, m.algorithm, expand(m.file)
	timeout := m.deps.Deps.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	return func() tea.Msg {
		// The checks span every connected host's VMs: a few reads each.
		ctx, cancel := context.WithTimeout(context.Background(), 4*timeout)
		defer cancel()
		var p drive.PreparedTransfer
		var err error
		switch a {
		case Wipe:
			p, err = b.PrepareWipe(ctx, at.Pool, at.Volume, alg)
		case Upload:
			p, err = b.PrepareUpload(ctx, at.Pool, at.Volume, file)
		case Download:
			p, err = b.PrepareDownload(ctx, at.Pool, at.Volume, file)
		}
		return prepared{Route: id, p: p, err: err}
	}
}

// start runs the prepared action in the progress view.
func (m *Model) start() tea.Cmd {
	m.stage = running
	b, p, a := m.backend, m.prepared, m.action
	run := func(ctx context.Context, ev chan<- drive.Event) (drive.Result, error) {
		var res drive.TransferResult
		var err error
		switch a {
		case Wipe:
			res, err = b.Wipe(ctx, p, ev)
		case Upload:
			res, err = b.Upload(ctx, p, ev)
		case Download:
			res, err = b.Download(ctx, p, ev)
		}
		return withSummary(res), err
	}
	title := fmt.Sprintf("%s %s", a, m.at.Pool+"/"+m.at.Volume)
	m.progress = driveprogress.New(title, []model.Step{p.Step}, run, m.deps.Styles, m.deps.Bindings().Progress)
	m.progress.SetSize(m.width, m.height)
	m.progress.Focus()
	return m.progress.Init()
}

// withSummary puts what moved into the result's notes, which the progress
// view shows when it ends.
func withSummary(r drive.TransferResult) drive.Result {
	out := r.Result
	var line string
	switch {
	case r.Action == "wipe" && r.Bytes > 0:
		line = fmt.Sprintf("wiped %s with %s in %.1fs", model.IBytes(r.Bytes), r.Algorithm, r.Seconds)
	case r.Bytes > 0:
		line = fmt.Sprintf("%sed %s in %.1fs (%s)", r.Action, model.IBytes(r.Bytes), r.Seconds, model.FormatRate(r.MiBPerSec*(1<<20)))
	}
	if r.File != "" {
		line += "; file " + r.File
	}
	if line != "" {
		out.Notes = append([]string{line}, out.Notes...)
	}
	return out
}
