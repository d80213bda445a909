package libvirtx_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stowage/lab"
	"stowage/libvirtx"
	"stowage/model"
)

// testPKI writes a CA, a client certificate and key in libvirt's ?pkipath=
// layout, and returns the directory and a server certificate for
// 127.0.0.1 signed by the same CA.
func testPKI(t *testing.T) (dir string, server tls.Certificate) {
	t.Helper()
	dir = t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, usage x509.ExtKeyUsage, ip bool) ([]byte, *ecdsa.PrivateKey) {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "leaf"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}}
		if ip {
			tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, k
	}
	write := func(name, typ string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("cacert.pem", "CERTIFICATE", caDER)
	cDER, cKey := leaf(2, x509.ExtKeyUsageClientAuth, false)
	write("clientcert.pem", "CERTIFICATE", cDER)
	kb, _ := x509.MarshalECPrivateKey(cKey)
	write("clientkey.pem", "EC PRIVATE KEY", kb)
	sDER, sKey := leaf(3, x509.ExtKeyUsageServerAuth, true)
	return dir, tls.Certificate{Certificate: [][]byte{sDER}, PrivateKey: sKey}
}

// dialTimeout is the --timeout these tests give. They do not time the
// dial (a wall-clock bound flakes on a loaded machine): a dial against a
// peer that never answers can only end through its deadline, so ending at
// all with ErrTimeout, and the deadline named in the error, is the proof;
// a missing deadline hangs the test until go test's own timeout.
const dialTimeout = 1500 * time.Millisecond

// namesTheTimeout reports whether err says which deadline fired.
func namesTheTimeout(err error) bool {
	return err != nil && strings.Contains(err.Error(), dialTimeout.String())
}

// A TLS listener that accepts TCP and never completes the handshake: the
// dial fails within the timeout, naming the stage, with ErrTimeout.
func TestTLSHandshakeThatNeverCompletes(t *testing.T) {
	pki, _ := testPKI(t)
	bh := lab.NewBlackHole(t)
	uri := "qemu+tls://127.0.0.1:" + bh.Port() + "/system?pkipath=" + pki
	_, err := libvirtx.Dial(context.Background(), uri, libvirtx.Options{Timeout: dialTimeout})
	select {
	case <-bh.Accepted:
	default:
		t.Fatal("the dial never reached the listener")
	}
	if !errors.Is(err, libvirtx.ErrTimeout) || !strings.Contains(err.Error(), "TLS handshake") || !namesTheTimeout(err) {
		t.Fatalf("err = %v; want ErrTimeout naming the TLS handshake and the %s deadline", err, dialTimeout)
	}
}

// The console's session on such a host ends "disconnected" with the
// cause, not "connecting" forever.
func TestTLSBlackHoleHostShowsDisconnected(t *testing.T) {
	pki, _ := testPKI(t)
	bh := lab.NewBlackHole(t)
	s := libvirtx.NewSession("qemu+tls://127.0.0.1:"+bh.Port()+"/system?pkipath="+pki,
		libvirtx.Options{Timeout: dialTimeout}, libvirtx.DefaultBackoff)
	if _, err := s.Conn(context.Background()); err == nil {
		t.Fatal("connected to a black hole")
	}
	st := s.Status()
	if st.State != model.StateDisconnected || !strings.Contains(st.Reason, "TLS handshake") || !strings.Contains(st.Reason, bh.Addr) {
		t.Fatalf("status %s %q; want disconnected with the stage and the address", st.State, st.Reason)
	}
}

// A server that completes the handshake and then never sends libvirtd's
// verdict byte on our certificate: also bounded, and named.
func TestTLSVerdictThatNeverComes(t *testing.T) {
	pki, server := testPKI(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{server}, ClientAuth: tls.RequireAnyClientCert})
	if err != nil {
		t.Fatal(err)
	}
	handshook := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		if err := c.(*tls.Conn).Handshake(); err != nil {
			c.Close()
			return
		}
		handshook <- c
	}()
	t.Cleanup(func() {
		ln.Close()
		select {
		case c := <-handshook:
			c.Close()
		default:
		}
	})
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	_, err = libvirtx.Dial(context.Background(), "qemu+tls://127.0.0.1:"+port+"/system?pkipath="+pki, libvirtx.Options{Timeout: dialTimeout})
	if !errors.Is(err, libvirtx.ErrTimeout) || !strings.Contains(err.Error(), "accept our certificate") || !namesTheTimeout(err) {
		t.Fatalf("err = %v; want ErrTimeout naming the wait for libvirtd's verdict and the %s deadline", err, dialTimeout)
	}
}

func TestTLSMissingCertificatesSaySo(t *testing.T) {
	dir := t.TempDir()
	_, err := libvirtx.Dial(context.Background(), "qemu+tls://127.0.0.1:1/system?pkipath="+dir, libvirtx.Options{Timeout: dialTimeout})
	if err == nil || !strings.Contains(err.Error(), "cacert.pem") || !strings.Contains(err.Error(), "pkipath") {
		t.Fatalf("err = %v; want the missing files and ?pkipath= named", err)
	}
}
