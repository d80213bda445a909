package libvirtx

import "testing"

// capped is what lets ReadVolumeHead return without waiting for the end
// of go-libvirt's stream: full closes once the wanted bytes are in, and a
// volume that holds nothing is full at once.
func TestCappedHead(t *testing.T) {
	isFull := func(w *capped) bool {
		select {
		case <-w.full:
			return true
		default:
			return false
		}
	}
	w := &capped{max: 8, full: make(chan struct{})}
	w.limit(5)
	if isFull(w) || w.want() != 5 {
		t.Fatalf("after limit(5): full %v, want %d", isFull(w), w.want())
	}
	w.Write([]byte("abc"))
	if isFull(w) {
		t.Fatal("full after 3 of 5 bytes")
	}
	w.Write([]byte("defgh"))
	if !isFull(w) || string(w.bytes()) != "abcde" {
		t.Fatalf("after 8 bytes written: full %v, kept %q; want full and the first 5", isFull(w), w.bytes())
	}
	w.limit(3) // a later, lower limit neither panics nor drops bytes
	empty := &capped{max: 8, full: make(chan struct{})}
	empty.limit(0)
	if !isFull(empty) {
		t.Fatal("a volume of 0 bytes is not full at once")
	}
}
