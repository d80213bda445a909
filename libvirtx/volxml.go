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
// Why not libvirtxml here, against the house rule: the inventory reads one
// volume XML per volume (10,000 on a big pool), and libvirtxml's full
// Unmarshal of StorageVolume was half of `stowage inventory`'s CPU time
// (namespace resolution and reflection over every field of the schema),
// on a 2-core host where stowage competes with libvirtd for the CPU. This
// walks encoding/xml's raw tokens once and keeps only the dozen values the
// model needs. It only READS; every XML stowage builds still goes through
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

func (d *volDecoder) read(pool, doc string) (model.Volume, error) {
	d.r.Reset(doc)
	dec := xml.NewDecoder(&d.r)
	d.path = d.path[:0]
	v := model.Volume{Pool: pool}
	var capUnit, allocUnit string
	var capText, allocText string
	var enc *model.Encryption
	seenRoot := false
	for {
		tok, err := dec.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return model.Volume{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if !seenRoot {
				if t.Name.Local != "volume" {
					return model.Volume{}, fmt.Errorf("root element is <%s>, not <volume>", t.Name.Local)
				}
				seenRoot = true
				v.Type = attr(t, "type")
				continue
			}
			d.path = append(d.path, t.Name.Local)
			p := d.where()
			d.text.Reset()
			switch p {
			case "capacity":
				capUnit = attr(t, "unit")
			case "allocation":
				allocUnit = attr(t, "unit")
			case "target/format":
				v.Format = attr(t, "type")
			case "target/encryption":
				enc = &model.Encryption{Format: attr(t, "format"), Engine: "qemu"}
			case "target/encryption/secret":
				if enc != nil {
					enc.SecretUUID = attr(t, "uuid")
				}
			case "target/encryption/cipher":
				if enc != nil {
					size := attr(t, "size")
					if size == "" {
						size = "0"
					}
					enc.Cipher = strings.Trim(attr(t, "name")+"-"+size+"-"+attr(t, "mode"), "-")
				}
			}
		case xml.CharData:
			if volField[d.where()] {
				d.text.Write(t)
			}
		case xml.EndElement:
			// RawToken leaves matching end tags to the caller.
			if len(d.path) == 0 {
				if t.Name.Local != "volume" {
					return model.Volume{}, fmt.Errorf("</%s> closes <volume>", t.Name.Local)
				}
				continue
			}
			if last := d.path[len(d.path)-1]; t.Name.Local != last {
				return model.Volume{}, fmt.Errorf("</%s> closes <%s>", t.Name.Local, last)
			}
			p := d.where()
			if volField[p] {
				s := d.text.String()
				switch p {
				case "name":
					v.Name = s
				case "key":
					v.Key = s
				case "capacity":
					capText = s
				case "allocation":
					allocText = s
				case "target/path":
					v.Path = s
				}
			}
			d.path = d.path[:len(d.path)-1]
			d.text.Reset()
		}
	}
	if !seenRoot {
		return model.Volume{}, errors.New("no <volume> element")
	}
	var err error
	if v.Capacity, err = sizeOf(capText, capUnit); err != nil {
		return v, fmt.Errorf("capacity: %w", err)
	}
	if v.Allocation, err = sizeOf(allocText, allocUnit); err != nil {
		return v, fmt.Errorf("allocation: %w", err)
	}
	v.Encryption = enc
	return v, nil
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
