package verify_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/gardetest"
	"github.com/garde-privacy/garde/rights/verify"
	"github.com/garde-privacy/garde/store"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// mailbox is a Sender that keeps the mail.
type mailbox struct {
	mu   sync.Mutex
	mail []verify.Mail
	fail error
}

func (m *mailbox) Send(_ context.Context, msg verify.Mail) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.mail = append(m.mail, msg)
	return nil
}

func (m *mailbox) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.mail)
}

var codeRE = regexp.MustCompile(`(?m)^    ([0-9]{6})$`)

// last returns the last mail and the code it holds.
func (m *mailbox) last(t *testing.T) (verify.Mail, string) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.mail) == 0 {
		t.Fatal("no mail sent")
	}
	msg := m.mail[len(m.mail)-1]
	match := codeRE.FindStringSubmatch(msg.Text)
	if match == nil {
		t.Fatalf("no code in the mail")
	}
	return msg, match[1]
}

// fixture is Codes over a real SQLite store and vault-sized key.
type fixture struct {
	db    *store.DB
	st    *store.Verifications
	codes *verify.Codes
	box   *mailbox
	clock *gardetest.Clock
}

var testKey = bytes.Repeat([]byte{7}, 32)

func openDB(t testing.TB, path string) *store.DB {
	t.Helper()
	db, err := store.OpenSQLite(context.Background(), path, "data")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	db := openDB(t, filepath.Join(t.TempDir(), "garde.db"))
	return fixtureOver(db)
}

func fixtureOver(db *store.DB) *fixture {
	f := &fixture{db: db, st: store.NewVerifications(db), box: &mailbox{}, clock: gardetest.NewClock(t0)}
	f.codes = &verify.Codes{Store: f.st, Key: testKey, Send: f.box.Send, Clock: f.clock}
	return f
}

// saved reads a request's stored code.
func (f *fixture) saved(t *testing.T, id string) verify.Code {
	t.Helper()
	var c verify.Code
	err := f.st.UpdateCodes(context.Background(), func(tx verify.CodeTx) error {
		var err error
		c, err = tx.FindCode(context.Background(), id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// errCode is "" for nil, the code of a *garde.Error, or "not a garde error".
func errCode(err error) string {
	if err == nil {
		return ""
	}
	var ge *garde.Error
	if !errors.As(err, &ge) {
		return "not a garde error: " + err.Error()
	}
	return ge.Code
}
