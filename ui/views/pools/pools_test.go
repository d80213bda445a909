package pools_test

import (
	"testing"

	"stowage/model"
	"stowage/ui/common"
	"stowage/ui/data"
	"stowage/ui/keys"
	"stowage/ui/views/kind"
	"stowage/ui/views/pools"
)

func host(ps ...model.PoolInfo) data.Host {
	return data.Host{URI: "qemu+ssh://hv/system", Loaded: true, Info: model.HostInfo{Pools: ps}}
}

func pool(name string, t model.PoolType) model.PoolInfo {
	return model.PoolInfo{Pool: model.Pool{Name: name, Type: t, Active: true}}
}

// teardownOffered reports whether the pools view offers the teardown key
// on pool name of h; when it does, it opens it.
func teardownOffered(t *testing.T, h data.Host, name string, acts common.Actions) bool {
	t.Helper()
	km := keys.Default()
	c := kind.Ctx{Store: &data.Store{Hosts: []data.Host{h}}, Scope: kind.Scope{Host: 0}, Keys: km, Actions: acts}
	for _, a := range (pools.Kind{}).Actions(c, kind.RowKey(0, name)) {
		if a.Binding.Keys()[0] == km.TeardownISCSI.Keys()[0] {
			a.Open()
			return true
		}
	}
	return false
}

func TestTeardownOfferedOnISCSIPoolAndLogicalOverOne(t *testing.T) {
	var opened common.DriveTarget
	acts := common.Actions{TeardownISCSI: func(at common.DriveTarget) common.Component { opened = at; return nil }}
	withSAN := host(pool("san-lvm", model.PoolLogical), pool("san-luns", model.PoolISCSI), pool("default", model.PoolDir))
	for _, tc := range []struct {
		h     data.Host
		pool  string
		offer bool
	}{
		{withSAN, "san-lvm", true},
		{withSAN, "san-luns", true},
		{withSAN, "default", false},
		// A logical pool on a host without an iscsi pool is on local disks.
		{host(pool("local-lvm", model.PoolLogical)), "local-lvm", false},
		// iscsi-direct pools have no kernel session and no VG on them.
		{host(pool("direct", model.PoolISCSIDirect)), "direct", false},
	} {
		opened = common.DriveTarget{}
		ok := teardownOffered(t, tc.h, tc.pool, acts)
		if ok != tc.offer {
			t.Errorf("pool %s: offered %v, want %v", tc.pool, ok, tc.offer)
		}
		if ok && (opened.Pool != tc.pool || opened.HostURI != tc.h.URI) {
			t.Errorf("pool %s: the key opened the teardown on %+v", tc.pool, opened)
		}
	}
	// --readonly: the action is nil, so the key is not offered at all.
	if ok := teardownOffered(t, withSAN, "san-lvm", common.Actions{}); ok {
		t.Error("the teardown is offered without its action (--readonly)")
	}
}
