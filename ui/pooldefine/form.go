package pooldefine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"charm.land/huh/v2"

	"stowage/drive"
	"stowage/iscsi"
	"stowage/model"
	"stowage/ui/driveprogress"
	"stowage/ui/drivewizard"
)

// typeIt is the select option that switches a discovered choice to typing.
const typeIt = "\x00type"

// fields are the form's values; spec turns them into a model.PoolSpec.
type fields struct {
	typ, name, target, srcHost, srcPath, vg, format string
	portal, iqn, initiator, chapUser, secretFile    string
	monitors, cephPool, cephUser, cephSecret        string
	// pick* are the discovered selects' values (typeIt: typed instead).
	pickExport, pickVG, pickDev, pickIQN string
	devs                                 []string
	typedDevs                            string
	newVG, build, overwrite, start       bool
	autostart                            bool
	confirm                              string
}

func newFields() fields { return fields{typ: "dir", start: true, format: ""} }

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}

func (f fields) devices() []string {
	switch {
	case f.typ == "logical" && !f.newVG:
		return nil
	case f.typ == "logical":
		return append(slices.Clone(f.devs), splitList(f.typedDevs)...)
	case f.pickDev != "" && f.pickDev != typeIt:
		return []string{f.pickDev}
	}
	return splitList(f.typedDevs)
}

func (f fields) spec() model.PoolSpec {
	s := model.PoolSpec{Type: f.typ, Name: f.name, Path: f.target, SourceHost: f.srcHost, SourcePath: f.srcPath,
		Devices: f.devices(), VG: f.vg, Format: f.format, Portal: f.portal, IQN: f.iqn, Initiator: f.initiator,
		CHAPUser: f.chapUser, Monitors: splitList(f.monitors), CephPool: f.cephPool, CephUser: f.cephUser,
		CephSecretUUID: f.cephSecret, Build: f.build, Overwrite: f.overwrite, NoStart: !f.start, Autostart: f.autostart}
	if f.pickExport != "" && f.pickExport != typeIt {
		s.SourcePath = f.pickExport
	}
	if f.pickVG != "" && f.pickVG != typeIt && !f.newVG {
		s.VG = f.pickVG
	}
	if f.pickIQN != "" && f.pickIQN != typeIt {
		s.IQN = f.pickIQN
	}
	if s.CHAPUser != "" {
		s.CHAPUsage = iscsi.SecretUsage(s.Name)
	}
	return s
}

// fieldErr is model's verdict on one field of the current spec.
func (m *Model) fieldErr(field string) error {
	err := model.ValidateDefine(m.f.spec(), m.existing)
	for _, fe := range model.FieldErrors(err) {
		if fe.Field == field {
			return fe.Err
		}
	}
	return nil
}

// check validates one field as typed (huh calls it on each change).
func (m *Model) check(field string) func(string) error {
	return func(string) error { return m.fieldErr(field) }
}

func (m *Model) buildTypeForm() {
	var opts []huh.Option[string]
	for _, t := range model.DefinableTypes {
		opts = append(opts, huh.NewOption(fmt.Sprintf("%-13s %s", t, model.PoolTypeAbout[t]), string(t)))
	}
	m.form = huh.NewForm(
		huh.NewGroup(huh.NewSelect[string]().Title("Pool type").Options(opts...).Value(&m.f.typ)).
			Title("Define a pool on "+model.SafeText(m.d.HostURI)),
		huh.NewGroup(huh.NewInput().Title("NFS server").Placeholder("nas.example.org").
			Description("its exports are discovered from the hypervisor").Value(&m.f.srcHost).
			Validate(m.check("source-host"))).WithHideFunc(func() bool { return m.f.typ != "netfs" }),
		huh.NewGroup(huh.NewInput().Title("iSCSI portal").Placeholder("10.0.0.5:3260").
			Description("its targets are discovered from the hypervisor (sendtargets)").Value(&m.f.portal).
			Validate(m.check("portal"))).WithHideFunc(func() bool { return m.f.typ != "iscsi" && m.f.typ != "iscsi-direct" }),
	)
	m.finishForm("cancel")
}

func (m *Model) finishForm(cancel string) {
	m.form = m.form.WithTheme(huh.ThemeFunc(huh.ThemeBase)).WithShowHelp(true)
	m.form.WithKeyMap(drivewizard.FormKeys(m.d.bindings().Form, cancel))
	if m.width > 0 {
		m.form.WithWidth(m.width)
	}
}

// pick is a select of discovered values with a "type another" option,
// and the input shown when typing (nil group when nothing was discovered:
// the input is first then).
func (m *Model) pick(title string, opts []huh.Option[string], pickVal, typed *string, field, placeholder string) (huh.Field, *huh.Group) {
	in := huh.NewInput().Title(title).Placeholder(placeholder).Value(typed).Validate(m.check(field))
	if len(opts) == 0 {
		*pickVal = typeIt
		return in, nil
	}
	opts = append(opts, huh.NewOption("(type another)", typeIt))
	sel := huh.NewSelect[string]().Title(title).Options(opts...).Value(pickVal).Validate(func(v string) error {
		if v == typeIt {
			return nil // the input that follows is checked
		}
		return m.check(field)(v)
	})
	return sel, huh.NewGroup(in).WithHideFunc(func() bool { return *pickVal != typeIt })
}

func (m *Model) devOptions() []huh.Option[string] {
	var out []huh.Option[string]
	for _, d := range m.found.devices {
		label := fmt.Sprintf("%s  %s %s %s", d.Path, model.IBytes(d.Size), d.Vendor, d.Model)
		out = append(out, huh.NewOption(model.SafeText(label), d.Path))
	}
	return out
}

// typeGroups are the chosen type's own fields after the name.
func (m *Model) typeGroups(name huh.Field) []*huh.Group {
	f := &m.f
	first := func(fs ...huh.Field) *huh.Group { return huh.NewGroup(append([]huh.Field{name}, fs...)...) }
	input := func(title, placeholder string, v *string, field string) huh.Field {
		return huh.NewInput().Title(title).Placeholder(placeholder).Value(v).Validate(m.check(field))
	}
	switch model.PoolType(f.typ) {
	case model.PoolDir:
		return []*huh.Group{first(input("Directory", "/var/lib/libvirt/images", &f.target, "target"))}
	case model.PoolFS:
		dev, typed := m.pick("Block device", m.devOptions(), &f.pickDev, &f.typedDevs, "source-dev", "/dev/loop0")
		return []*huh.Group{first(dev), typed, huh.NewGroup(
			input("Mount point", "/srv/pools/fast", &f.target, "target"),
			huh.NewSelect[string]().Title("Filesystem").Options(huh.NewOptions(model.FSFormats...)...).Value(&f.format).Validate(m.check("format")),
			huh.NewConfirm().Title("Make the filesystem (mkfs)?").Description("refuses a device that holds a filesystem unless you overwrite").Value(&f.build))}
	case model.PoolNetFS:
		var opts []huh.Option[string]
		for _, e := range m.found.exports {
			opts = append(opts, huh.NewOption(model.SafeText(e.Path), e.Path))
		}
		ex, typed := m.pick("Export", opts, &f.pickExport, &f.srcPath, "source-path", "/exports/vms")
		return []*huh.Group{first(ex), typed, huh.NewGroup(input("Mount point", "/srv/pools/nfs", &f.target, "target"),
			huh.NewSelect[string]().Title("Format").Options(huh.NewOptions(model.NetFSFormats...)...).Value(&f.format))}
	case model.PoolLogical:
		var opts []huh.Option[string]
		for _, vg := range m.found.vgs {
			opts = append(opts, huh.NewOption(model.SafeText(fmt.Sprintf("%s  on %s", vg.Name, strings.Join(vg.Devices, ", "))), vg.Name))
		}
		vg, typed := m.pick("Volume group", opts, &f.pickVG, &f.vg, "source-name", "vg_vms")
		var devs huh.Field = huh.NewInput().Title("Devices of the new VG").Placeholder("/dev/sdb, /dev/sdc").
			Description("comma-separated").Value(&f.typedDevs).Validate(m.check("source-dev"))
		if dopts := m.devOptions(); len(dopts) > 0 {
			devs = huh.NewMultiSelect[string]().Title("Devices of the new VG").Options(dopts...).Value(&f.devs).
				Validate(func([]string) error { return m.fieldErr("source-dev") })
		}
		out := []*huh.Group{first(huh.NewSelect[bool]().Title("Volume group").Options(
			huh.NewOption("an existing volume group", false), huh.NewOption("a new volume group on chosen devices (vgcreate)", true)).Value(&f.newVG)),
			huh.NewGroup(vg).WithHideFunc(func() bool { return f.newVG })}
		if typed != nil {
			out = append(out, typed.WithHideFunc(func() bool { return f.newVG || f.pickVG != typeIt }))
		}
		return append(out, huh.NewGroup(input("New VG name", "vg_vms", &f.vg, "source-name"), devs,
			huh.NewConfirm().Title("Overwrite what the devices hold?").Description("no: the build refuses a device with data").Value(&f.overwrite)).
			WithHideFunc(func() bool { return !f.newVG }))
	case model.PoolDisk:
		dev, typed := m.pick("Disk", m.devOptions(), &f.pickDev, &f.typedDevs, "source-dev", "/dev/sdb")
		return []*huh.Group{first(dev), typed, huh.NewGroup(
			huh.NewSelect[string]().Title("Partition label").Options(huh.NewOptions(model.DiskFormats...)...).Value(&f.format),
			huh.NewConfirm().Title("Write a new label?").Description("no: use the label the disk has").Value(&f.build))}
	case model.PoolRBD:
		return []*huh.Group{first(
			input("Monitors", "10.0.0.1:6789, 10.0.0.2:6789", &f.monitors, "monitor"),
			input("Ceph pool", "rbd", &f.cephPool, "ceph-pool"),
			input("cephx user", "libvirt", &f.cephUser, "ceph-user"),
			huh.NewInput().Title("Existing ceph secret UUID").Description("empty: define a new one from a keyring file").
				Value(&f.cephSecret).Validate(m.check("ceph-secret")),
			huh.NewInput().Title("Keyring file").Placeholder("/etc/ceph/ceph.client.libvirt.keyring").
				Description("read when the pool is defined; the key is never shown").Value(&f.secretFile).Validate(m.checkKeyring))}
	case model.PoolISCSI, model.PoolISCSIDirect:
		var opts []huh.Option[string]
		for _, t := range m.found.targets {
			opts = append(opts, huh.NewOption(model.SafeText(t.IQN+"  ("+t.Portal+")"), t.IQN))
		}
		tg, typed := m.pick("Target", opts, &f.pickIQN, &f.iqn, "iqn", "iqn.2026-11.org.example:san1")
		initTitle := "Initiator IQN (optional)"
		if f.typ == "iscsi-direct" {
			initTitle = "Initiator IQN"
		}
		return []*huh.Group{first(tg), typed, huh.NewGroup(
			input(initTitle, "iqn.2026-11.org.example:host1", &f.initiator, "initiator"),
			input("CHAP user (optional)", "", &f.chapUser, "chap-user"),
			huh.NewInput().Title("CHAP secret file").Description("mode 0600; read when the pool is defined, never shown").
				Value(&f.secretFile).Validate(m.checkCHAPFile))}
	}
	return []*huh.Group{first()}
}

func (m *Model) buildFieldsForm() {
	f := &m.f
	name := huh.NewInput().Title("Name").Placeholder("pool name").Value(&f.name).Validate(m.check("name"))
	var groups []*huh.Group
	for _, g := range m.typeGroups(name) {
		if g != nil {
			groups = append(groups, g)
		}
	}
	desc := fmt.Sprintf("%s: %s", f.typ, model.PoolTypeAbout[model.PoolType(f.typ)])
	if m.discoverErr != nil {
		desc += "\ndiscovery: " + model.SafeLines(m.discoverErr.Error()) + "\ntype the values instead"
	}
	groups[0] = groups[0].Title(fmt.Sprintf("%s pool on %s", f.typ, model.SafeText(m.d.HostURI))).Description(desc)
	groups = append(groups,
		huh.NewGroup(huh.NewConfirm().Title("Overwrite what the device holds?").Value(&f.overwrite)).
			WithHideFunc(func() bool { return !(f.build && (f.typ == "fs" || f.typ == "disk")) }),
		huh.NewGroup(huh.NewInput().Title("Type the pool name to confirm the overwrite").Value(&f.confirm).
			Validate(func(string) error { return model.ConfirmOverwrite(f.spec(), f.confirm) })).
			WithHideFunc(func() bool { return f.spec().BuildMode() != model.BuildOverwrite }),
		huh.NewGroup(huh.NewConfirm().Title("Start it now?").Value(&f.start),
			huh.NewConfirm().Title("Start with libvirtd (autostart)?").Value(&f.autostart)),
	)
	m.form = huh.NewForm(groups...)
	m.finishForm("back to the type")
}

func (m *Model) checkKeyring(string) error {
	if m.f.cephSecret == "" && m.f.secretFile == "" {
		return errors.New("give an existing ceph secret's UUID, or the keyring file of the cephx user")
	}
	return nil
}

func (m *Model) checkCHAPFile(string) error {
	switch {
	case m.f.chapUser != "" && m.f.secretFile == "":
		return errors.New("CHAP needs the file holding its secret (mode 0600)")
	case m.f.secretFile != "" && !strings.HasPrefix(m.f.secretFile, "/"):
		return fmt.Errorf("secret file %q: give an absolute path", m.f.secretFile)
	}
	return nil
}

// resultOf is the run's result as the progress view carries it: the app
// re-reads the host and selects Pool.
type resultOf = drive.Result

func newProgress(s model.PoolSpec, run func(context.Context, chan<- drive.Event) (resultOf, error), d Deps) *driveprogress.Model {
	return driveprogress.New("define pool "+s.Name, model.DefinePlan(s), driveprogress.Run(run), d.Styles, d.bindings().Progress)
}
