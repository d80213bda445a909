package data

import (
	"sync"
	"testing"

	"stowage/model"
)

func loadedPool(name string, vols ...string) model.PoolInfo {
	p := model.PoolInfo{Pool: model.Pool{Name: name, Capacity: 100, Allocation: 10, Available: 90}, VolumesLoaded: true}
	for _, v := range vols {
		p.Volumes = append(p.Volumes, model.VolumeInfo{Volume: model.Volume{Name: v, Pool: name}, Loaded: true})
	}
	return p
}

func TestUnchangedPool(t *testing.T) {
	pending := loadedPool("pending", "a")
	pending.Volumes[0].Loaded = false
	keep := unchangedPool(summarisePools([]model.PoolInfo{loadedPool("p", "a", "b"), pending}))
	same := model.Pool{Name: "p", Capacity: 100, Allocation: 10, Available: 90}
	grown := same
	grown.Allocation = 11
	cases := []struct {
		name  string
		pool  model.Pool
		names []string
		want  bool
	}{
		{"same sizes and names", same, []string{"b", "a"}, true},
		{"allocation changed", grown, []string{"a", "b"}, false},
		{"a volume renamed", same, []string{"a", "c"}, false},
		{"a volume added", same, []string{"a", "b", "c"}, false},
		{"details still loading", model.Pool{Name: "pending", Capacity: 100, Allocation: 10, Available: 90}, []string{"a"}, false},
		{"a new pool", model.Pool{Name: "new"}, nil, false},
	}
	for _, c := range cases {
		if got := keep(c.pool, c.names); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// The stream's goroutine calls KeepVolumes while Update rewrites the live
// pools (Link resets every volume's attachments, Apply replaces volumes):
// under -race this fails if the closure reads the store.
func TestKeepVolumesNeverReadsTheLiveStore(t *testing.T) {
	info := model.HostInfo{Pools: []model.PoolInfo{loadedPool("p", "a", "b")}}
	keep := unchangedPool(summarisePools(info.Pools))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 200 {
			keep(model.Pool{Name: "p", Capacity: 100, Allocation: 10, Available: 90}, []string{"a", "b"})
		}
	}()
	for i := range 200 {
		info.Link()
		info.Pools[0].Volumes[i%2] = model.VolumeInfo{Volume: model.Volume{Name: "x"}, Loaded: i%3 == 0}
	}
	wg.Wait()
}
