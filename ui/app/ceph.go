package app

import (
	tea "charm.land/bubbletea/v2"

	"stowage/model"
	"stowage/ui/data"
	"stowage/ui/views/ceph"
	"stowage/ui/views/kind"
	"stowage/ui/views/list"
)

// openCeph is the Ceph key: on a list whose selected row is an rbd pool,
// the images of its Ceph pool; on a drive of an rbd pool, that image in
// detail (both pushed, so Esc returns to the row); anywhere else the
// clusters of every host, as the other view keys open their kinds.
func (m *Model) openCeph() tea.Cmd {
	if l, ok := m.Top().(*list.Model); ok {
		if name, scope, ok := m.cephOf(l); ok {
			if s, ok := list.New(m.ld, name, scope); ok {
				return m.push(s)
			}
		}
	}
	return m.open(ceph.ClustersName, kind.All)
}

// cephOf is the Ceph screen for a list's selected row: an rbd pool's
// images, or an rbd drive's image.
func (m *Model) cephOf(l *list.Model) (string, kind.Scope, bool) {
	k, ok := m.d.Kinds[l.Kind()]
	if !ok {
		return "", kind.Scope{}, false
	}
	sel, _ := l.Table().SelectedKey()
	if sel == "" {
		return "", kind.Scope{}, false
	}
	c := kind.Ctx{Store: m.d.Store, Scope: l.Scope(), Keys: m.d.Keys, Actions: m.d.Actions}
	host, obj, ok := k.Describe(c, sel)
	if !ok || host < 0 || host >= len(m.d.Store.Hosts) {
		return "", kind.Scope{}, false
	}
	pool := obj.Name
	if obj.Kind == "volume" {
		pool = obj.Pool
	} else if obj.Kind != "pool" {
		return "", kind.Scope{}, false
	}
	for _, p := range m.d.Store.Hosts[host].Info.Pools {
		if p.Name != pool || p.Type != model.PoolRBD || p.SourceName == "" {
			continue
		}
		if obj.Kind == "volume" {
			return ceph.ImageName, kind.Scope{Host: host, Pool: p.SourceName, Image: obj.Name}, true
		}
		return ceph.ImagesName, kind.Scope{Host: host, Pool: p.SourceName}, true
	}
	return "", kind.Scope{}, false
}

// cephRead hands a Ceph read to the store, and the screens redraw from
// it. A failed read is also said in the footer, on whatever screen is
// open: the Ceph screens keep the read before it.
func (m *Model) cephRead(msg data.CephMsg) tea.Cmd {
	if !m.d.Store.UpdateCeph(msg) {
		return nil
	}
	if msg.Err != nil {
		m.message = "Ceph of " + m.d.Store.Hosts[msg.Host].URI + ": " + msg.Err.Error()
	}
	return m.broadcast(data.ChangedMsg{Host: msg.Host})
}
