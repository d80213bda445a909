package libvirtx

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"
)

// The qemu+tls transport. go-libvirt's TLS dialer bounds the TCP connect
// and the handshake by its own fixed 20 s, not by --timeout, and then
// waits with no deadline at all for the byte in which libvirtd says
// whether it accepted our certificate: a listener that completes the
// handshake (or a proxy that accepts TCP) and never speaks would leave
// the host "connecting" forever. This dialer puts one deadline, the dial
// timeout, on all three, and says which stage ran out of time.

// DefaultTLSPort is libvirtd's TLS port.
const DefaultTLSPort = "16514"

// tlsFiles are where the CA, client certificate and key are read from,
// libvirt's own layout: ?pkipath=DIR holds all three; without it, root
// reads /etc/pki/CA/cacert.pem and /etc/pki/libvirt/{clientcert.pem,
// private/clientkey.pem}, other users ~/.pki/libvirt/ first.
type tlsFiles struct{ ca, cert, key string }

func tlsFileSets(t Target) []tlsFiles {
	if t.PKIPath != "" {
		p := t.PKIPath
		return []tlsFiles{{filepath.Join(p, "cacert.pem"), filepath.Join(p, "clientcert.pem"), filepath.Join(p, "clientkey.pem")}}
	}
	sys := tlsFiles{"/etc/pki/CA/cacert.pem", "/etc/pki/libvirt/clientcert.pem", "/etc/pki/libvirt/private/clientkey.pem"}
	if os.Getuid() == 0 {
		return []tlsFiles{sys}
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return []tlsFiles{sys}
	}
	d := filepath.Join(home, ".pki", "libvirt")
	return []tlsFiles{{filepath.Join(d, "cacert.pem"), filepath.Join(d, "clientcert.pem"), filepath.Join(d, "clientkey.pem")}, sys}
}

// tlsConfig reads the first complete set of files.
func tlsConfig(t Target) (*tls.Config, error) {
	var errs []error
	for _, f := range tlsFileSets(t) {
		ca, err := os.ReadFile(f.ca)
		if err != nil {
			errs = append(errs, fmt.Errorf("CA certificate: %w", err))
			continue
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, fmt.Errorf("%s: no PEM certificate in the CA file", f.ca)
		}
		cert, err := tls.LoadX509KeyPair(f.cert, f.key)
		if err != nil {
			errs = append(errs, fmt.Errorf("client certificate: %w", err))
			continue
		}
		return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, ServerName: t.Host, MinVersion: tls.VersionTLS12}, nil
	}
	return nil, fmt.Errorf("qemu+tls %s: no usable certificates (%w); put cacert.pem, clientcert.pem and clientkey.pem in one directory and pass ?pkipath=DIR",
		t.Host, errors.Join(errs...))
}

type tlsDialer struct {
	t       Target
	addr    string
	timeout time.Duration
	now     func() time.Time
}

func newTLSDialer(t Target, timeout time.Duration) (*tlsDialer, error) {
	port := t.Port
	if port == "" {
		port = DefaultTLSPort
	}
	return &tlsDialer{t: t, addr: net.JoinHostPort(t.Host, port), timeout: timeout, now: time.Now}, nil
}

// Dial connects, completes the TLS handshake and reads libvirtd's verdict
// on our certificate, all before one deadline.
func (d *tlsDialer) Dial() (net.Conn, error) {
	cfg, err := tlsConfig(d.t)
	if err != nil {
		return nil, err
	}
	deadline := d.now().Add(d.timeout)
	stage := "connecting"
	raw, err := (&net.Dialer{Deadline: deadline}).Dial("tcp", d.addr)
	if err != nil {
		return nil, d.fail(stage, err)
	}
	if err := raw.SetDeadline(deadline); err != nil {
		raw.Close()
		return nil, fmt.Errorf("tls %s: %w", d.addr, err)
	}
	c := tls.Client(raw, cfg)
	stage = "TLS handshake"
	if err := c.Handshake(); err != nil {
		c.Close()
		return nil, d.fail(stage, err)
	}
	// After the handshake libvirtd writes one byte: 1 when it accepted our
	// certificate (its CA, tls_allowed_dn_list), anything else when not.
	stage = "waiting for libvirtd to accept our certificate"
	var verdict [1]byte
	if _, err := c.Read(verdict[:]); err != nil {
		c.Close()
		return nil, d.fail(stage, err)
	}
	if verdict[0] != 1 {
		c.Close()
		return nil, fmt.Errorf("tls %s: libvirtd refused our client certificate (check its CA and tls_allowed_dn_list)", d.addr)
	}
	if err := c.SetDeadline(time.Time{}); err != nil {
		c.Close()
		return nil, fmt.Errorf("tls %s: %w", d.addr, err)
	}
	return c, nil
}

func (d *tlsDialer) fail(stage string, err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &dialTimeoutError{fmt.Sprintf("tls %s: no answer within %s (%s)", d.addr, d.timeout, stage)}
	}
	var ua x509.UnknownAuthorityError
	if errors.As(err, &ua) {
		return fmt.Errorf("tls %s: the server's certificate is not signed by our CA (%s): %w", d.addr, tlsFileSets(d.t)[0].ca, err)
	}
	var he x509.HostnameError
	if errors.As(err, &he) {
		return fmt.Errorf("tls %s: the server's certificate does not name %s (connect by a name it lists): %w", d.addr, d.t.Host, err)
	}
	return fmt.Errorf("tls %s (%s): %w", d.addr, stage, err)
}
