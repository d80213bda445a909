package firstpool

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"stowage/lab"
	"stowage/model"
	"stowage/plan"
	"stowage/themes"
	"stowage/ui/common"
	"stowage/ui/data"
	"stowage/ui/keys"
	"stowage/ui/keys/keytest"
)

// fakeBackend records the first-pool call and plays the plan's events a
// real run sends (each step started and done, or the start failing and
// the steps before it undone). Only URIs and CreatePool are implemented:
// the form uses nothing else (a call to anything else panics on the nil
// interface, failing the test).
type fakeBackend struct {
	data.Backend
	mu     sync.Mutex
	spec   model.PoolSpec
	passed []byte // the slice the form passed (to see that it is cleared)
	copied []byte // what it held during the call
	err    error
}

func (f *fakeBackend) URIs() []string { return []string{"test:///default"} }

func (f *fakeBackend) CreatePool(_ context.Context, _ int, s model.PoolSpec, key []byte, events chan<- plan.Event) error {
	f.mu.Lock()
	f.spec, f.passed, f.copied = s, key, slices.Clone(key)
	f.mu.Unlock()
	steps := model.PoolPlan(s.Type, s.Name)
	for i, st := range steps {
		events <- plan.Event{Kind: plan.StepStarted, Index: i, Step: st}
		if f.err != nil && st.ID == model.StepPoolStart {
			events <- plan.Event{Kind: plan.StepFailed, Index: i, Step: st, Err: f.err}
			for k := i - 1; k >= 0; k-- {
				events <- plan.Event{Kind: plan.StepUndone, Index: k, Step: steps[k], Note: "removed " + steps[k].Title}
			}
			return f.err
		}
		events <- plan.Event{Kind: plan.StepDone, Index: i, Step: st}
	}
	return nil
}

func typeText(m *Model, s string) {
	for _, r := range s {
		m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

func press(m *Model, b key.Binding) tea.Cmd {
	_, cmd := m.Update(keytest.Press(b))
	return cmd
}

// fillRBD fills the rbd form; the key is typed key press by key press, or
// pasted, with a frame rendered after each.
func fillRBD(m *Model, name, key string, paste bool, frames *[]string) {
	for _, v := range []string{name, "10.0.0.1:6789", "rbd", "libvirt"} {
		typeText(m, v)
		press(m, m.km.FirstPool.Submit)
	}
	if paste {
		m.Update(tea.PasteMsg{Content: key})
		*frames = append(*frames, m.View())
		return
	}
	for _, r := range key {
		m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
		*frames = append(*frames, m.View())
	}
}

// TestFirstPoolCephxKeyNeverShown drives the rbd first-pool form through
// its whole run: the cephx key typed (or pasted) into it reaches the
// backend decoded (the raw key, as libvirt's ceph secret holds it), the
// field is emptied on submit and the bytes handed over are cleared once
// the call returns, and no form of the key is in any frame the form
// renders, in any message it returns, or in its error texts (a backend
// failure with its rollback, a key that is not base64).
func TestFirstPoolCephxKeyNeverShown(t *testing.T) {
	rawKey := make([]byte, 16)
	if _, err := rand.Read(rawKey); err != nil {
		t.Fatal(err)
	}
	keyText := base64.StdEncoding.EncodeToString(rawKey) // as `ceph auth get-key` prints it
	secret := lab.NewSecret("the cephx key", []byte(keyText), rawKey)

	for _, tc := range []struct {
		name  string
		paste bool
		err   error
	}{
		{"typed, created", false, nil},
		{"pasted, start fails", true, errors.New("start: internal error: failed to connect to the RADOS monitor on: 10.0.0.1:6789")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := lab.Guard(t, secret)
			fb := &fakeBackend{err: tc.err}
			m := New(data.NewStore(fb, time.Second), 0, "rbd", keys.Default(), themes.Styles{})
			var frames []string
			fillRBD(m, "ceph", keyText, tc.paste, &frames)
			if m.key.Len() != len(keyText) {
				g.Fatalf("the key field holds %d bytes, want the %d typed", m.key.Len(), len(keyText))
			}
			cmd := press(m, m.km.FirstPool.Submit)
			if cmd == nil {
				g.Fatalf("enter on the key field did not submit: %v", m.err)
			}
			if !m.key.Empty() {
				g.Error("the key field still holds the key after submit")
			}
			frames = append(frames, m.View())
			// Run the form's Cmds as the program would, to the end.
			var popped []tea.Msg
			for steps := 0; cmd != nil; steps++ {
				if steps > 100 {
					g.Fatal("the form's run does not end")
				}
				msg := cmd()
				secret.AssertAbsent(g, fmt.Sprintf("message %T", msg), []byte(fmt.Sprintf("%#v %+v", msg, msg)))
				if pop, ok := msg.(common.PopMsg); ok {
					popped = append(popped, pop.Result)
					break
				}
				_, cmd = m.Update(msg)
				frames = append(frames, m.View())
			}
			fb.mu.Lock()
			if string(fb.copied) != string(rawKey) {
				g.Errorf("the backend got %d key bytes, not the decoded key (the raw key libvirt's ceph secret holds)", len(fb.copied))
			}
			if len(fb.passed) == 0 || slices.ContainsFunc(fb.passed, func(b byte) bool { return b != 0 }) {
				g.Error("the key bytes handed to the backend are not cleared after the call")
			}
			if fb.spec.CephUser != "libvirt" || fb.spec.CephPool != "rbd" || len(fb.spec.Monitors) != 1 {
				g.Errorf("pool spec %+v", fb.spec)
			}
			fb.mu.Unlock()
			last := frames[len(frames)-1]
			if tc.err == nil && (len(popped) != 1 || popped[0] != (CreatedMsg{Host: 0, Pool: "ceph"})) {
				g.Errorf("after a created pool the form pops %#v, want CreatedMsg", popped)
			}
			if tc.err != nil && (len(popped) != 0 || !strings.Contains(last, "RADOS") || !strings.Contains(last, "removed")) {
				g.Errorf("a failed start: popped %#v; the last frame should show the error and the rollback:\n%s", popped, last)
			}
			for i, f := range frames {
				secret.AssertAbsent(g, fmt.Sprintf("frame %d", i), []byte(f))
			}
		})
	}

	// A key that is not base64: refused without echoing what was typed.
	g := lab.Guard(t, secret)
	typed := "not-base64!" + keyText
	bad := lab.NewSecret("the mistyped key", []byte(typed))
	g.Add(bad)
	fb := &fakeBackend{}
	m := New(data.NewStore(fb, time.Second), 0, "rbd", keys.Default(), themes.Styles{})
	var frames []string
	fillRBD(m, "ceph", typed, false, &frames)
	if cmd := press(m, m.km.FirstPool.Submit); cmd != nil || m.err == nil || !strings.Contains(m.err.Error(), "not base64") {
		g.Fatalf("a key that is not base64: cmd %v, err %v; want a refusal", cmd != nil, m.err)
	}
	if !m.key.Empty() {
		g.Error("the refused key is still in the field: the form says it was cleared")
	}
	frames = append(frames, m.View())
	for i, f := range frames {
		bad.AssertAbsent(g, fmt.Sprintf("frame %d", i), []byte(f))
		secret.AssertAbsent(g, fmt.Sprintf("frame %d", i), []byte(f))
	}
	bad.AssertAbsent(g, "the refusal", []byte(m.err.Error()))
	if fb.passed != nil {
		g.Error("a refused key reached the backend")
	}
}

// The form's keys and its hint line are the keymap's: a remapped cancel
// is named in the hint and is the key that closes the form.
func TestFormKeysFollowTheKeymap(t *testing.T) {
	km := keys.Default()
	if err := km.Remap(map[string][]string{"first_pool.cancel": {"ctrl+g"}}); err != nil {
		t.Fatal(err)
	}
	m := New(data.NewStore(&fakeBackend{}, time.Second), 0, "dir", km, themes.Styles{})
	if v := m.View(); !strings.Contains(v, "ctrl+g cancels") || strings.Contains(v, "esc cancels") {
		t.Fatalf("hint does not follow the remap:\n%s", v)
	}
	if cmd := press(m, keys.Default().FirstPool.Cancel); cmd != nil {
		t.Fatal("the default cancel key still closes the form")
	}
	cmd := press(m, km.FirstPool.Cancel)
	if cmd == nil {
		t.Fatal("the remapped cancel key does nothing")
	}
	if _, ok := cmd().(common.PopMsg); !ok {
		t.Fatal("the remapped cancel key does not close the form")
	}
	press(m, km.FirstPool.Next)
	if m.focus != 1 {
		t.Errorf("next field: focus %d", m.focus)
	}
}
