package consent_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/garde-privacy/garde/consent"
)

// smtpServer is a tiny SMTP server on 127.0.0.1 speaking the real protocol
// (EHLO, STARTTLS, AUTH PLAIN, MAIL, RCPT, DATA, QUIT): enough for net/smtp.
type smtpServer struct {
	ln  net.Listener
	tls *tls.Config // nil: STARTTLS not offered

	mu  sync.Mutex
	got []smtpMessage
	wg  sync.WaitGroup
}

type smtpMessage struct {
	from, to, auth string
	tls            bool
	data           string
}

func newSMTPServer(t *testing.T, cfg *tls.Config) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln, tls: cfg}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Go(func() { s.serve(c) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *smtpServer) messages() []smtpMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]smtpMessage(nil), s.got...)
}

func (s *smtpServer) serve(c net.Conn) {
	defer func() { c.Close() }()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	say := func(lines ...string) {
		for _, l := range lines {
			w.WriteString(l + "\r\n")
		}
		w.Flush()
	}
	var m smtpMessage
	say("220 test.example ESMTP ready")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			ext := []string{"250-test.example"}
			if s.tls != nil && !m.tls {
				ext = append(ext, "250-STARTTLS")
			}
			say(append(ext, "250-AUTH PLAIN", "250 8BITMIME")...)
		case "HELO", "NOOP", "RSET":
			say("250 OK")
		case "STARTTLS":
			if s.tls == nil || m.tls {
				say("454 TLS not available")
				continue
			}
			say("220 go ahead")
			tc := tls.Server(c, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			c, m.tls = tc, true
			r, w = bufio.NewReader(c), bufio.NewWriter(c)
		case "AUTH":
			mech, ir, _ := strings.Cut(arg, " ")
			b, err := base64.StdEncoding.DecodeString(ir)
			if mech != "PLAIN" || err != nil {
				say("504 unsupported")
				continue
			}
			m.auth = string(b)
			say("235 authenticated")
		case "MAIL":
			m.from, _, _ = strings.Cut(strings.TrimPrefix(arg, "FROM:"), " ") // without BODY=8BITMIME
			say("250 OK")
		case "RCPT":
			m.to = strings.TrimPrefix(arg, "TO:")
			say("250 OK")
		case "DATA":
			say("354 end with <CRLF>.<CRLF>")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, ".")) // dot-unstuffing
			}
			m.data = b.String()
			s.mu.Lock()
			s.got = append(s.got, m)
			s.mu.Unlock()
			say("250 queued")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("502 unknown command")
		}
	}
}

// selfSigned returns a server certificate for 127.0.0.1 and a client
// configuration that trusts it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test smtp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool}
}

var sampleMail = consent.GuardianMail{
	To: "parent@example.org", Subject: "Maison Lumière SAS : un enfant demande votre accord", Lang: "fr",
	Text: "Bonjour,\n\nUne ligne très longue " + strings.Repeat("é", 80) + "\n.\n.ligne qui commence par un point\nhttps://garde.example/consent/guardian/abc.def.ghi\n",
}

// readBack parses a message as a mail client would.
func readBack(t *testing.T, data string) (subject, lang, body string) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		t.Fatalf("not a message: %v\n%s", err, data)
	}
	subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	if msg.Header.Get("Content-Transfer-Encoding") != "quoted-printable" || !strings.HasPrefix(msg.Header.Get("Content-Type"), "text/plain; charset=utf-8") {
		t.Fatalf("headers %v", msg.Header)
	}
	b, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	return subject, msg.Header.Get("Content-Language"), strings.ReplaceAll(string(b), "\r\n", "\n")
}

// TestSMTPNotifier sends through a real SMTP conversation: in clear when
// the server offers no STARTTLS, upgraded (and authenticated) when it does.
func TestSMTPNotifier(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	for _, tc := range []struct {
		name     string
		offerTLS bool
		user     string
		wantTLS  bool
	}{
		{"plain", false, "", false},
		{"STARTTLS", true, "", true},
		{"STARTTLS and AUTH PLAIN", true, "garde", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cfg *tls.Config
			if tc.offerTLS {
				cfg = serverTLS
			}
			srv := newSMTPServer(t, cfg)
			n := &consent.SMTPNotifier{Addr: srv.ln.Addr().String(), From: "Garde <garde@maison-lumiere.example>",
				Username: tc.user, Password: "s3cret", TLS: clientTLS}
			if err := n.Notify(context.Background(), sampleMail); err != nil {
				t.Fatal(err)
			}
			got := srv.messages()
			if len(got) != 1 {
				t.Fatalf("%d messages, want 1", len(got))
			}
			m := got[0]
			if m.from != "<garde@maison-lumiere.example>" || m.to != "<parent@example.org>" || m.tls != tc.wantTLS {
				t.Errorf("envelope from %s to %s, tls %v", m.from, m.to, m.tls)
			}
			if tc.user != "" && m.auth != "\x00garde\x00s3cret" {
				t.Errorf("auth %q", m.auth)
			}
			subject, lang, body := readBack(t, m.data)
			if subject != sampleMail.Subject || lang != "fr" || body != sampleMail.Text {
				t.Errorf("got %q (%s)\n%q\nwant %q\n%q", subject, lang, body, sampleMail.Subject, sampleMail.Text)
			}
		})
	}
}

// TestSMTPNotifierRefuses: no STARTTLS with RequireTLS, a bad recipient, a
// server that is not there, an untrusted certificate.
func TestSMTPNotifierRefuses(t *testing.T) {
	serverTLS, _ := selfSigned(t)
	plain := newSMTPServer(t, nil)
	secure := newSMTPServer(t, serverTLS)
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := dead.Addr().String()
	dead.Close()
	for _, tc := range []struct {
		name string
		n    *consent.SMTPNotifier
		to   string
	}{
		{"RequireTLS without STARTTLS", &consent.SMTPNotifier{Addr: plain.ln.Addr().String(), From: "garde@example.org", RequireTLS: true}, "parent@example.org"},
		{"header injection in the recipient", &consent.SMTPNotifier{Addr: plain.ln.Addr().String(), From: "garde@example.org"}, "parent@example.org\r\nBcc: x@example.org"},
		{"no server", &consent.SMTPNotifier{Addr: deadAddr, From: "garde@example.org", Timeout: time.Second}, "parent@example.org"},
		{"untrusted certificate", &consent.SMTPNotifier{Addr: secure.ln.Addr().String(), From: "garde@example.org"}, "parent@example.org"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := sampleMail
			m.To = tc.to
			if err := tc.n.Notify(context.Background(), m); err == nil {
				t.Fatal("sent")
			} else if strings.Contains(err.Error(), "parent@") {
				t.Errorf("the error names the recipient: %v", err)
			}
		})
	}
	if n := len(plain.messages()) + len(secure.messages()); n != 0 {
		t.Fatalf("%d messages delivered", n)
	}
}
