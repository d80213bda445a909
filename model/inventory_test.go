package model

import (
	"fmt"
	"strings"
	"testing"
)

// A pool larger than libvirt can list keeps the names it got, counts the
// rest, and says why; a later complete list clears the count.
func TestApplyListLimit(t *testing.T) {
	h := HostInfo{}
	h.Apply(Part{Kind: PartPools, Pools: []Pool{{Name: "big", Type: PoolDir, Active: true}}})
	limit := &ListLimitError{Pool: "big", Total: 20000, Listed: 3}
	h.Apply(Part{Kind: PartVolumeNames, Pool: "big", Names: []string{"c", "a", "b"}, Err: fmt.Errorf("list volumes: %w", limit)})
	p := h.Pools[0]
	if len(p.Volumes) != 3 || p.Volumes[0].Name != "a" || !p.VolumesLoaded || p.VolumesNotListed != 19997 {
		t.Fatalf("after a partial list: %d volumes, loaded %v, not listed %d", len(p.Volumes), p.VolumesLoaded, p.VolumesNotListed)
	}
	if len(h.Errors) != 1 || !strings.Contains(h.Errors[0], "REMOTE_STORAGE_VOL_LIST_MAX") || !strings.Contains(h.Errors[0], "19997 are not") {
		t.Errorf("errors %q: want the limit explained", h.Errors)
	}
	// A refresh of the pool list keeps the count with the volumes.
	h.Apply(Part{Kind: PartPools, Pools: []Pool{{Name: "big", Type: PoolDir, Active: true}}})
	if h.Pools[0].VolumesNotListed != 19997 || len(h.Pools[0].Volumes) != 3 {
		t.Errorf("pool refresh dropped the partial list: %+v", h.Pools[0])
	}
	h.Apply(Part{Kind: PartVolumeNames, Pool: "big", Names: []string{"a"}})
	if h.Pools[0].VolumesNotListed != 0 || len(h.Pools[0].Volumes) != 1 {
		t.Errorf("complete list: not listed %d, volumes %d; want 0 and 1", h.Pools[0].VolumesNotListed, len(h.Pools[0].Volumes))
	}
	// Any other listing error leaves the pool as it was.
	h.Apply(Part{Kind: PartVolumeNames, Pool: "big", Names: nil, Err: fmt.Errorf("list volumes: timeout")})
	if len(h.Pools[0].Volumes) != 1 {
		t.Errorf("a failed list replaced the volumes: %+v", h.Pools[0].Volumes)
	}
	if !IsListLimit(fmt.Errorf("x: %w", limit)) || IsListLimit(fmt.Errorf("x")) {
		t.Error("IsListLimit does not see through wrapping")
	}
}

// An rbd image formatted by librbd and attached to no VM: the pool's XML
// says nothing of its encryption, its volume secret (usage cephpool/image)
// does. A plain image and a dir volume are not marked.
func TestLinkMarksUnattachedLibrbdImages(t *testing.T) {
	h := HostInfo{SecretsKnown: true,
		Pools: []PoolInfo{
			{Pool: Pool{Name: "rbd", Type: PoolRBD}, Volumes: []VolumeInfo{
				{Volume: Volume{Name: "enc", Path: "cp/enc"}}, {Volume: Volume{Name: "plain", Path: "cp/plain"}}}},
			{Pool: Pool{Name: "dir", Type: PoolDir}, Volumes: []VolumeInfo{{Volume: Volume{Name: "f", Path: "cp/enc"}}}},
		},
		Secrets: []SecretInfo{{Secret: Secret{UUID: "u1", UsageType: "volume", UsageID: "cp/enc", Private: true}, Value: ValuePrivate}},
	}
	h.Link()
	enc, plain, file := h.Pools[0].Volumes[0], h.Pools[0].Volumes[1], h.Pools[1].Volumes[0]
	if enc.DiskEncryption.Label() != "luks (librbd)" || enc.DiskEncryption.SecretUUID != "u1" || enc.SecretState != SecretPrivate {
		t.Errorf("encrypted image: %+v, secret state %q; want luks (librbd) with u1, private", enc.DiskEncryption, enc.SecretState)
	}
	if plain.DiskEncryption != nil || file.DiskEncryption != nil {
		t.Errorf("marked without cause: plain %+v, dir %+v", plain.DiskEncryption, file.DiskEncryption)
	}
	if h.Secrets[0].Orphan != "" {
		t.Errorf("the image's secret is flagged an orphan: %q", h.Secrets[0].Orphan)
	}
}
