package doctor

import (
	"context"
	"errors"
	"testing"

	"stowage/model"
)

// fakeHost expects exact calls: a pool of one UUID, secrets by UUID.
type fakeHost struct {
	poolUUID string
	acts     []model.PoolAct
	secrets  map[string]string // uuid → usage id
}

func (f *fakeHost) PoolIf(_ context.Context, name string, act model.PoolAct, check func(string) error) error {
	if err := check(f.poolUUID); err != nil {
		return err
	}
	f.acts = append(f.acts, act)
	return nil
}

func (f *fakeHost) DefineLostSecret(_ context.Context, uuid, usageType, usageID string, value []byte) error {
	if _, ok := f.secrets[uuid]; ok {
		return model.ErrNotTheSame
	}
	f.secrets[uuid] = usageType + ":" + usageID
	return nil
}

func TestApplyLibvirtActsOnTheDiagnosedPoolOnly(t *testing.T) {
	h := model.HostInfo{Pools: []model.PoolInfo{{Pool: model.Pool{Name: "images", UUID: "u-1"}}}}
	f := &fakeHost{poolUUID: "u-1", secrets: map[string]string{}}
	ctx := context.Background()
	if err := ApplyLibvirt(ctx, f, h, model.FixAction{Kind: model.FixAutostartPool, Target: "images"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := ApplyLibvirt(ctx, f, h, model.FixAction{Kind: model.FixStartPool, Target: "images"}, nil); err != nil {
		t.Fatal(err)
	}
	if len(f.acts) != 2 || f.acts[0] != model.PoolActAutostartOn || f.acts[1] != model.PoolActStart {
		t.Fatalf("acts %v, want autostart on then start", f.acts)
	}
	// Another admin replaced the pool: same name, another UUID.
	f.poolUUID = "u-2"
	err := ApplyLibvirt(ctx, f, h, model.FixAction{Kind: model.FixStartPool, Target: "images"}, nil)
	if !errors.Is(err, ErrNotApplied) || len(f.acts) != 2 {
		t.Fatalf("replaced pool: err %v, acts %v; want ErrNotApplied and nothing done", err, f.acts)
	}
}

func TestApplyLibvirtSecretNeverRedefines(t *testing.T) {
	f := &fakeHost{secrets: map[string]string{"s-1": "volume:/x"}}
	a := model.FixAction{Kind: model.FixSetSecret, Target: "s-2", Detail: map[string]string{"usage": "volume", "usage_id": "/images/d.img"}}
	if err := ApplyLibvirt(context.Background(), f, model.HostInfo{}, a, []byte("v")); err != nil || f.secrets["s-2"] != "volume:/images/d.img" {
		t.Fatalf("err %v, secrets %v", err, f.secrets)
	}
	a.Target = "s-1"
	if err := ApplyLibvirt(context.Background(), f, model.HostInfo{}, a, []byte("v")); !errors.Is(err, ErrNotApplied) {
		t.Fatalf("a secret of that UUID exists: err %v, want ErrNotApplied", err)
	}
	if err := ApplyLibvirt(context.Background(), f, model.HostInfo{}, model.FixAction{Kind: model.FixSetSecret, Target: "s-3"}, nil); !errors.Is(err, ErrNotApplied) {
		t.Fatalf("empty value: err %v, want ErrNotApplied", err)
	}
}
