package libvirtx

import "testing"

func TestPoolFromXMLWrappedAllocation(t *testing.T) {
	// As libvirt 9.0 reported the lab's rbd pool on a memstore OSD.
	doc := `<pool type='rbd'><name>r</name>
<capacity unit='bytes'>4294967296</capacity>
<allocation unit='bytes'>18446744073659220039</allocation>
<available unit='bytes'>4345263104</available>
<source><name>stowage</name><host name='127.0.0.1' port='6789'/>
<auth type='ceph' username='libvirt'><secret uuid='5a7d0e1c-3b2f-4c55-9e60-57a6e1ab0001'/></auth></source></pool>`
	p, err := PoolFromXML(doc)
	if err != nil {
		t.Fatal(err)
	}
	if p.Allocation != 0 || p.Capacity != 4294967296 {
		t.Errorf("wrapped allocation: got alloc %d cap %d; want 0 and 4 GiB", p.Allocation, p.Capacity)
	}
	if p.SourceName != "stowage" || p.AuthUser != "libvirt" || len(p.SourceHosts) != 1 || p.SourceHosts[0] != "127.0.0.1:6789" {
		t.Errorf("source: %+v", p)
	}
	doc = `<pool type='dir'><name>d</name><capacity unit='KiB'>100</capacity><allocation unit='KiB'>40</allocation><available unit='KiB'>60</available><target><path>/x</path></target></pool>`
	if p, err = PoolFromXML(doc); err != nil || p.Allocation != 40<<10 || p.TargetPath != "/x" {
		t.Errorf("dir pool: %+v %v", p, err)
	}
}
