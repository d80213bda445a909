package ceph

import (
	"strings"
)

// Pool access a cephx user's OSD caps grant, as RBD needs it: images are
// read and written through object class methods, so "rw" means r, w and x
// (or a profile that includes them).
const (
	AccessNone      = "none"
	AccessReadOnly  = "read-only"
	AccessReadWrite = "read-write"
)

// PoolAccess reads OSD caps ("profile rbd pool=a, allow r pool=b") and
// says what they grant on pool, and the grant that decided it. A grant
// without pool= covers every pool; namespace and object_prefix
// restrictions count as covering (they narrow, they do not widen, and
// stowage does not use namespaces).
func PoolAccess(osdCaps, pool string) (access, grant string) {
	access = AccessNone
	for _, g := range strings.FieldsFunc(osdCaps, func(r rune) bool { return r == ',' || r == ';' }) {
		g = strings.TrimSpace(g)
		a, covers := grantAccess(g, pool)
		if !covers {
			continue
		}
		if rank(a) > rank(access) {
			access, grant = a, g
		}
	}
	return access, grant
}

func rank(a string) int {
	switch a {
	case AccessReadWrite:
		return 2
	case AccessReadOnly:
		return 1
	}
	return 0
}

// grantAccess reads one grant: "allow rwx pool=p", "profile rbd",
// "allow pool p rwx" (the old syntax), "allow *".
func grantAccess(g, pool string) (string, bool) {
	words := strings.Fields(g)
	if len(words) < 2 {
		return AccessNone, false
	}
	var target string // "" = every pool
	var spec []string
	for i := 1; i < len(words); i++ {
		w := words[i]
		switch {
		case strings.HasPrefix(w, "pool="):
			target = strings.Trim(strings.TrimPrefix(w, "pool="), `"'`)
		case w == "pool" && i+1 < len(words):
			i++
			target = strings.Trim(words[i], `"'`)
		case strings.HasPrefix(w, "namespace="), strings.HasPrefix(w, "object_prefix"), strings.HasPrefix(w, "tag"):
			if w == "object_prefix" || w == "tag" {
				i++ // its argument
			}
		default:
			spec = append(spec, w)
		}
	}
	if target != "" && target != pool && target != "*" {
		return AccessNone, false
	}
	switch words[0] {
	case "profile":
		switch strings.Join(spec, " ") {
		case "rbd":
			return AccessReadWrite, true
		case "rbd-read-only":
			return AccessReadOnly, true
		}
		return AccessNone, false
	case "allow":
		perm := strings.Join(spec, "")
		switch {
		case perm == "*" || strings.Contains(perm, "rwx") || (strings.Contains(perm, "r") && strings.Contains(perm, "w") && strings.Contains(perm, "x")):
			return AccessReadWrite, true
		case strings.Contains(perm, "r"):
			return AccessReadOnly, true
		}
	}
	return AccessNone, false
}

// capsGrant is the OSD caps line that adds read-write RBD access to pool
// while keeping what the user has (`ceph auth caps` replaces every cap).
func capsGrant(existing, pool string) string {
	add := "profile rbd pool=" + pool
	if strings.TrimSpace(existing) == "" {
		return add
	}
	return existing + ", " + add
}
