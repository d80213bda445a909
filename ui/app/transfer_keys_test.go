package app

import (
	"strings"
	"testing"

	"charm.land/bubbles/v2/key"

	"stowage/model"
	"stowage/ui/common"
	"stowage/ui/keys"
)

// A volume's row offers wipe, upload and download when wired, and opens
// them on their keys with the volume as the target; unwired (--readonly)
// they vanish from the help.
func TestVolumeRowOffersTransferKeys(t *testing.T) {
	km := keys.Default()
	f := &fake{uris: []string{"test:///one"}, parts: [][]model.Part{labHost()}, err: []error{nil}}
	var got []string
	open := func(what string) func(common.DriveTarget) common.Component {
		return func(at common.DriveTarget) common.Component {
			got = append(got, what+" "+at.Pool+"/"+at.Volume)
			return &confirmScreen{stubScreen{title: what}}
		}
	}
	acts := common.Actions{WipeDrive: open("wipe"), UploadDrive: open("upload"), DownloadDrive: open("download")}
	m := newModel(t, f, acts)
	press(t, m, km.Enter) // the dir pool's volumes
	for _, b := range []string{km.WipeDrive.Help().Desc, km.UploadDrive.Help().Desc, km.DownloadDrive.Help().Desc} {
		if !strings.Contains(m.HelpText(), b) {
			t.Errorf("%q not offered on a volume:\n%s", b, m.HelpText())
		}
	}
	for _, b := range []struct {
		what string
		key  key.Binding
	}{{"wipe", km.WipeDrive}, {"upload", km.UploadDrive}, {"download", km.DownloadDrive}} {
		press(t, m, b.key)
		if s, ok := m.Top().(*confirmScreen); !ok || s.title != b.what {
			t.Fatalf("%s key opened %T", b.what, m.Top())
		}
		m.Update(common.PopMsg{})
	}
	if len(got) != 3 || !strings.HasPrefix(got[0], "wipe ") || strings.HasSuffix(got[0], "/") {
		t.Errorf("opened %v; want each with the selected volume", got)
	}

	ro := newModel(t, f, common.Actions{})
	press(t, ro, km.Enter)
	if h := ro.HelpText(); strings.Contains(h, km.WipeDrive.Help().Desc) || strings.Contains(h, km.DownloadDrive.Help().Desc) {
		t.Errorf("unwired (read-only) transfer keys offered:\n%s", h)
	}
}
