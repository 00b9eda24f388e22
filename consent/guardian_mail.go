package consent

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/inventory"
)

// GuardianMail is the message that asks a guardian for consent.
type GuardianMail struct {
	To      string // the guardian's address
	Subject string
	Text    string // plain text, with the link
	Lang    string // "fr" or "en"
}

// Notifier sends guardian messages. Notify must not log the address or the
// text (the text holds the link, which lets its holder answer).
type Notifier interface {
	Notify(ctx context.Context, m GuardianMail) error
}

// MemoryNotifier keeps the messages instead of sending them: for tests and
// the demo. It is safe for concurrent use.
type MemoryNotifier struct {
	mu   sync.Mutex
	msgs []GuardianMail
}

// Notify records m.
func (n *MemoryNotifier) Notify(_ context.Context, m GuardianMail) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.msgs = append(n.msgs, m)
	return nil
}

// Messages returns the messages recorded so far, oldest first.
func (n *MemoryNotifier) Messages() []GuardianMail {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]GuardianMail(nil), n.msgs...)
}

// SMTPNotifier sends guardian messages through an SMTP server (net/smtp):
// it upgrades the connection with STARTTLS whenever the server offers it,
// and authenticates (PLAIN, which net/smtp sends only over TLS or to
// localhost) when Username is set.
type SMTPNotifier struct {
	Addr     string // host:port of the submission server
	From     string // sender address
	Username string
	Password string
	// TLS configures STARTTLS (nil: the system roots, the server name from
	// Addr).
	TLS *tls.Config
	// RequireTLS refuses to send when the server does not offer STARTTLS:
	// the link lets its holder answer for a child.
	RequireTLS bool
	// Timeout bounds one delivery (default 30 s).
	Timeout time.Duration
}

// Notify sends m.
func (n *SMTPNotifier) Notify(ctx context.Context, m GuardianMail) error {
	from, err := mail.ParseAddress(n.From)
	if err != nil {
		return fmt.Errorf("smtp: sender address: %w", err)
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return errors.New("smtp: recipient address is not valid")
	}
	host, _, err := net.SplitHostPort(n.Addr)
	if err != nil {
		return fmt.Errorf("smtp: address %q: %w", n.Addr, err)
	}
	timeout := n.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", n.Addr)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp: %w", err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := &tls.Config{}
		if n.TLS != nil {
			cfg = n.TLS.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = host
		}
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("smtp: starttls: %w", err)
		}
	} else if n.RequireTLS {
		return errors.New("smtp: the server does not offer STARTTLS")
	}
	if n.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", n.Username, n.Password, host)); err != nil {
			return fmt.Errorf("smtp: auth: %w", err)
		}
	}
	if err := c.Mail(from.Address); err != nil {
		return fmt.Errorf("smtp: MAIL: %w", err)
	}
	if err := c.Rcpt(to.Address); err != nil {
		return fmt.Errorf("smtp: RCPT: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp: DATA: %w", err)
	}
	if _, err := w.Write(message(from, to, m, time.Now())); err != nil {
		return fmt.Errorf("smtp: DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp: DATA: %w", err)
	}
	return c.Quit()
}

// message is m as an RFC 5322 message: UTF-8 text in quoted-printable, the
// subject encoded (RFC 2047), so that no value can add a header.
func message(from, to *mail.Address, m GuardianMail, now time.Time) []byte {
	var b bytes.Buffer
	domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	subject := strings.NewReplacer("\r", " ", "\n", " ").Replace(m.Subject)
	fmt.Fprintf(&b, "From: %s\r\n", (&mail.Address{Name: from.Name, Address: from.Address}).String())
	fmt.Fprintf(&b, "To: %s\r\n", (&mail.Address{Address: to.Address}).String())
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", subject))
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@%s>\r\n", garde.RandomID(), domain)
	fmt.Fprintf(&b, "Content-Language: %s\r\n", Lang(m.Lang, ""))
	b.WriteString("Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(m.Text))
	qp.Close()
	return b.Bytes()
}

// mailText holds a guardian message's sentences in one language.
type mailText struct {
	subject, hello, asks, asksAge, law, lawFR, purposes, open, until, ignore, contact, colon string
	months                                                                                   [12]string
}

var mailTexts = map[string]mailText{
	"en": {
		subject:  "%s: a child asks for your consent",
		hello:    "Hello,",
		asks:     "A child who says you are their parent or guardian asked %s for the purposes below.",
		asksAge:  "A child aged %d who says you are their parent or guardian asked %s for the purposes below.",
		law:      "At their age the law does not let them consent alone: your consent is needed, and until you answer none of these purposes is allowed.",
		lawFR:    "Under 15 in France, the child and a parent consent together: the child has asked, and your answer completes it. Until you answer, none of these purposes is allowed.",
		purposes: "Purposes asked for:",
		open:     "To approve or refuse, purpose by purpose, open this link:",
		until:    "The link is valid until %s (UTC) and can be used once.",
		ignore:   "If you do not know this child or did not expect this message, ignore it: nothing will be allowed.",
		contact:  "Questions: %s, data protection officer of %s, %s",
		colon:    ":",
		months:   [12]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
	},
	"fr": {
		subject:  "%s : un enfant demande votre accord",
		hello:    "Bonjour,",
		asks:     "Un enfant qui vous désigne comme son parent ou tuteur a fait auprès de %s les demandes ci-dessous.",
		asksAge:  "Un enfant de %d ans qui vous désigne comme son parent ou tuteur a fait auprès de %s les demandes ci-dessous.",
		law:      "À son âge, la loi ne lui permet pas de consentir seul : votre accord est nécessaire, et tant que vous n'avez pas répondu, aucune de ces finalités n'est autorisée.",
		lawFR:    "En France, avant 15 ans, l'enfant et un titulaire de l'autorité parentale consentent conjointement : l'enfant l'a demandé, votre réponse le complète. Tant que vous n'avez pas répondu, aucune de ces finalités n'est autorisée.",
		purposes: "Finalités demandées :",
		open:     "Pour accepter ou refuser, finalité par finalité, ouvrez ce lien :",
		until:    "Le lien est valable jusqu'au %s (UTC) et ne sert qu'une fois.",
		ignore:   "Si vous ne connaissez pas cet enfant ou n'attendiez pas ce message, ignorez-le : rien ne sera autorisé.",
		contact:  "Questions : %s, délégué à la protection des données de %s, %s",
		colon:    " :",
		months:   [12]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"},
	},
}

// date formats t for people: "6 December 2026, 10:00" / "6 décembre 2026 à 10:00".
func (t mailText) date(at time.Time, lang string) string {
	at = at.UTC()
	sep := ", "
	if lang == "fr" {
		sep = " à "
	}
	return fmt.Sprintf("%d %s %d%s%02d:%02d", at.Day(), t.months[at.Month()-1], at.Year(), sep, at.Hour(), at.Minute())
}

// text returns t in lang, or in English.
func text(t inventory.Text, lang string) string {
	if lang == "fr" && t.FR != "" || t.EN == "" {
		return t.FR
	}
	return t.EN
}

// jointConsent reports whether the guardian completes a joint consent
// (France under 15).
func (l *Ledger) jointConsent(a *GuardianAsk) bool {
	j, ok := l.Inventory.Consent.JointConsent[a.Country]
	return ok && (a.Age.Years == 0 || a.Age.Years < j)
}

// mail writes the message to the guardian at addr in the request's language:
// who asks, for which purposes (with their descriptions from the
// inventory), and the link.
func (g *Guardians) mail(gr *GuardianRequest, addr, link string) GuardianMail {
	inv, lang := g.Ledger.Inventory, gr.Lang
	t := mailTexts[lang]
	org := inv.Organisation.Name
	var b strings.Builder
	b.WriteString(t.hello + "\n\n")
	if y := gr.Ask.Age.Years; y > 0 {
		fmt.Fprintf(&b, t.asksAge, y, org)
	} else {
		fmt.Fprintf(&b, t.asks, org)
	}
	b.WriteString(" ")
	if g.Ledger.jointConsent(&gr.Ask) {
		b.WriteString(t.lawFR)
	} else {
		b.WriteString(t.law)
	}
	b.WriteString("\n\n" + t.purposes + "\n")
	for _, k := range gr.Ask.Purposes() {
		p := inv.Purpose(k)
		fmt.Fprintf(&b, "- %s%s %s\n", text(p.Name, lang), t.colon, text(p.Description, lang))
	}
	b.WriteString("\n" + t.open + "\n" + link + "\n\n")
	fmt.Fprintf(&b, t.until, t.date(gr.Expires, lang))
	b.WriteString("\n\n" + t.ignore + "\n")
	if dpo := inv.Organisation.DPO; dpo.Email != "" {
		b.WriteString("\n")
		fmt.Fprintf(&b, t.contact, dpo.Name, org, dpo.Email)
		b.WriteString("\n")
	}
	return GuardianMail{To: addr, Subject: fmt.Sprintf(t.subject, org), Text: b.String(), Lang: lang}
}

// DirNotifier drops each message into a directory as an RFC 5322 file
// (.eml, mode 0600) instead of sending it: for a development machine or
// the demo, where no mail server runs. The files hold the links and codes
// people receive: keep the directory as private as the data directory.
type DirNotifier struct {
	Dir  string
	From string // sender address shown in the files
}

// Notify writes m to a new file in Dir.
func (n *DirNotifier) Notify(_ context.Context, m GuardianMail) error {
	from, err := mail.ParseAddress(n.From)
	if err != nil {
		from = &mail.Address{Address: "garde@localhost"}
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return errors.New("mail drop: recipient address is not valid")
	}
	if err := os.MkdirAll(n.Dir, 0o700); err != nil {
		return fmt.Errorf("mail drop: %w", err)
	}
	now := time.Now()
	name := filepath.Join(n.Dir, now.UTC().Format("20060102T150405.000000000Z")+"-"+garde.RandomID()[:8]+".eml")
	if err := os.WriteFile(name, message(from, to, m, now), 0o600); err != nil {
		return fmt.Errorf("mail drop: %w", err)
	}
	return nil
}
