package verify_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/rights/verify"
)

const (
	addr = "Ann.Dupont@example.com"
	ip   = "203.0.113.7"
)

var identity = []byte("blind-index-of-ann")

// TestStartCheck: the mail holds a 6-digit code in the person's language;
// the right code returns the identity once; the code is then dead.
func TestStartCheck(t *testing.T) {
	ctx := context.Background()
	for _, lang := range []string{"en", "fr", "fr-CA", "de", ""} {
		t.Run("lang "+lang, func(t *testing.T) {
			f := newFixture(t)
			if err := f.codes.Start(ctx, "r_1", addr, identity, lang, ip); err != nil {
				t.Fatal(err)
			}
			msg, code := f.box.last(t)
			want := "en"
			if strings.HasPrefix(lang, "fr") {
				want = "fr"
			}
			if msg.To != addr || msg.Lang != want || msg.Subject == "" || strings.Contains(msg.Subject, code) {
				t.Errorf("mail: to %q, lang %q (want %q), subject %q", msg.To, msg.Lang, want, msg.Subject)
			}
			if !strings.Contains(msg.Text, "10 minutes") || strings.Count(msg.Text, code) != 1 {
				t.Errorf("the mail does not say how long the code works:\n%s", msg.Text)
			}
			got, err := f.codes.Check(ctx, "r_1", code, ip)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, identity) {
				t.Errorf("identity: got %q, want %q", got, identity)
			}
			if _, err := f.codes.Check(ctx, "r_1", code, ip); errCode(err) != garde.EInvalid {
				t.Errorf("the code worked twice: %v", err)
			}
			if c := f.saved(t, "r_1"); !c.Consumed || c.Identity != nil {
				t.Errorf("used code: consumed %v, identity kept %q", c.Consumed, c.Identity)
			}
		})
	}
}

// TestCheckAnswersAlike: wrong, expired, used, unknown and malformed codes
// get the same error, word for word.
func TestCheckAnswersAlike(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	for _, id := range []string{"r_wrong", "r_expired", "r_used", "r_spaces"} {
		if err := f.codes.Start(ctx, id, strings.TrimPrefix(id, "r_")+"@example.com", identity, "en", ""); err != nil {
			t.Fatal(err)
		}
	}
	codeOf := func(id string) string {
		f.box.mu.Lock()
		defer f.box.mu.Unlock()
		for _, m := range f.box.mail {
			if m.To == strings.TrimPrefix(id, "r_")+"@example.com" {
				return codeRE.FindStringSubmatch(m.Text)[1]
			}
		}
		t.Fatalf("no mail for %s", id)
		return ""
	}
	if _, err := f.codes.Check(ctx, "r_used", codeOf("r_used"), ""); err != nil {
		t.Fatal(err)
	}
	c := codeOf("r_spaces")
	if _, err := f.codes.Check(ctx, "r_spaces", c[:3]+" "+c[3:], ""); err != nil {
		t.Errorf("a code typed with a space: %v", err)
	}
	wrong := codeOf("r_wrong")
	wrong = string('0'+(wrong[0]-'0'+1)%10) + wrong[1:]
	expired := codeOf("r_expired")
	used := codeOf("r_used")
	f.clock.Add(10 * time.Minute) // r_expired's code dies exactly now
	var first error
	for _, c := range []struct{ name, id, code string }{
		{"wrong", "r_wrong", wrong},
		{"expired", "r_expired", expired},
		{"used", "r_used", used},
		{"unknown request", "r_nosuchrequest", "123456"},
		{"malformed request", "r_<script>", "123456"},
		{"empty request", "", "123456"},
		{"five digits", "r_wrong", "12345"},
		{"seven digits", "r_wrong", "1234567"},
		{"letters", "r_wrong", "12345a"},
		{"empty code", "r_wrong", ""},
		{"unicode digits", "r_wrong", "١٢٣٤٥٦"},
	} {
		_, err := f.codes.Check(ctx, c.id, c.code, "")
		if errCode(err) != garde.EInvalid {
			t.Errorf("%s: got %v, want %s", c.name, err, garde.EInvalid)
			continue
		}
		if first == nil {
			first = err
		} else if err.Error() != first.Error() {
			t.Errorf("%s: %q differs from %q", c.name, err, first)
		}
	}
	if first == nil || garde.ErrorMessage(first) != "wrong or expired code" {
		t.Errorf("message: %v", first)
	}
}

// TestNewCodeKillsOld: a second Start for a request kills the first code.
func TestNewCodeKillsOld(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	if err := f.codes.Start(ctx, "r_1", addr, identity, "en", ip); err != nil {
		t.Fatal(err)
	}
	_, old := f.box.last(t)
	if err := f.codes.Start(ctx, "r_1", addr, []byte("other"), "en", ip); err != nil {
		t.Fatal(err)
	}
	_, fresh := f.box.last(t)
	if old != fresh { // one chance in a million that they are the same
		if _, err := f.codes.Check(ctx, "r_1", old, ip); errCode(err) != garde.EInvalid {
			t.Errorf("old code: got %v, want %s", err, garde.EInvalid)
		}
	}
	got, err := f.codes.Check(ctx, "r_1", fresh, ip)
	if err != nil || string(got) != "other" {
		t.Errorf("fresh code: got %q, %v", got, err)
	}
}

// TestMaxAttempts: the wrong code that uses up the last try, and any code
// after it, even the right one, answer ETooMany; a new code starts afresh.
func TestMaxAttempts(t *testing.T) {
	ctx := context.Background()
	for _, n := range []int{0, 1, 3} {
		f := newFixture(t)
		f.codes.MaxAttempts = n
		if n == 0 {
			n = verify.DefaultMaxAttempts
		}
		if err := f.codes.Start(ctx, "r_1", addr, identity, "en", ip); err != nil {
			t.Fatal(err)
		}
		_, right := f.box.last(t)
		wrong := string('0'+(right[0]-'0'+1)%10) + right[1:]
		for i := 1; i <= n; i++ {
			want := garde.EInvalid
			if i == n {
				want = garde.ETooMany
			}
			if _, err := f.codes.Check(ctx, "r_1", wrong, ip); errCode(err) != want {
				t.Errorf("n %d, wrong code %d: got %v, want %s", n, i, err, want)
			}
		}
		if _, err := f.codes.Check(ctx, "r_1", right, ip); errCode(err) != garde.ETooMany {
			t.Errorf("n %d, right code after: got %v, want %s", n, err, garde.ETooMany)
		}
		if c := f.saved(t, "r_1"); c.Attempts != n || c.Consumed {
			t.Errorf("n %d: %d attempts, consumed %v", n, c.Attempts, c.Consumed)
		}
		if err := f.codes.Start(ctx, "r_1", addr, identity, "en", ip); err != nil {
			t.Fatal(err)
		}
		_, right = f.box.last(t)
		if _, err := f.codes.Check(ctx, "r_1", right, ip); err != nil {
			t.Errorf("n %d, new code: %v", n, err)
		}
	}
}

// TestConcurrentWrongCodes: 20 goroutines hammering Check with wrong codes
// count at most MaxAttempts, and the right code is refused after.
func TestConcurrentWrongCodes(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	if err := f.codes.Start(ctx, "r_1", addr, identity, "en", ip); err != nil {
		t.Fatal(err)
	}
	_, right := f.box.last(t)
	var mu sync.Mutex
	answers := map[string]int{}
	var wg sync.WaitGroup
	for g := range 20 {
		wg.Go(func() {
			for i := range 5 {
				wrong := formatWrong(right, g*5+i)
				// each goroutine its own IP, far from the per-IP limit
				_, err := f.codes.Check(ctx, "r_1", wrong, "198.51.100."+string(rune('a'+g)))
				mu.Lock()
				answers[errCode(err)]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	tries := verify.DefaultMaxAttempts
	if answers[garde.EInvalid] != tries-1 || answers[garde.ETooMany] != 100-(tries-1) || len(answers) != 2 {
		t.Errorf("answers %v, want %d %s and %d %s", answers, tries-1, garde.EInvalid, 100-(tries-1), garde.ETooMany)
	}
	if c := f.saved(t, "r_1"); c.Attempts != tries {
		t.Errorf("%d attempts counted, want %d", c.Attempts, tries)
	}
	if _, err := f.codes.Check(ctx, "r_1", right, ip); errCode(err) != garde.ETooMany {
		t.Errorf("right code after: got %v, want %s", err, garde.ETooMany)
	}
}

// formatWrong returns a 6-digit code other than right, the n-th such.
func formatWrong(right string, n int) string {
	for v := n; ; v++ {
		s := string([]byte{byte('0' + v/100000%10), byte('0' + v/10000%10), byte('0' + v/1000%10),
			byte('0' + v/100%10), byte('0' + v/10%10), byte('0' + v%10)})
		if s != right {
			return s
		}
	}
}

// TestRateLimits: codes per address (whatever its case) and per IP, and
// wrong codes per IP, are limited within their window, and only there.
func TestRateLimits(t *testing.T) {
	ctx := context.Background()
	t.Run("per address", func(t *testing.T) {
		f := newFixture(t)
		for i, a := range []string{addr, strings.ToLower(addr), strings.ToUpper(addr)} {
			if err := f.codes.Start(ctx, "r_"+string(rune('a'+i)), a, identity, "en", "192.0.2."+string(rune('1'+i))); err != nil {
				t.Fatal(err)
			}
		}
		err := f.codes.Start(ctx, "r_x", addr, identity, "en", "192.0.2.9")
		if errCode(err) != garde.ETooMany || f.box.count() != 3 {
			t.Fatalf("fourth code for one address: got %v, %d mails", err, f.box.count())
		}
		if err := f.codes.Start(ctx, "r_y", "bob@example.com", identity, "en", "192.0.2.9"); err != nil {
			t.Errorf("another address: %v", err)
		}
		f.clock.Add(time.Hour - time.Nanosecond)
		if err := f.codes.Start(ctx, "r_x", addr, identity, "en", ""); errCode(err) != garde.ETooMany {
			t.Errorf("within the hour: got %v", err)
		}
		f.clock.Add(2 * time.Nanosecond)
		if err := f.codes.Start(ctx, "r_x", addr, identity, "en", ""); err != nil {
			t.Errorf("past the hour: %v", err)
		}
	})
	t.Run("per IP", func(t *testing.T) {
		f := newFixture(t)
		f.codes.PerIP = verify.Limit{N: 4, Per: time.Minute}
		for i := range 4 {
			if err := f.codes.Start(ctx, "r_1", string(rune('a'+i))+"@example.com", identity, "en", ip); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.codes.Start(ctx, "r_1", "z@example.com", identity, "en", ip); errCode(err) != garde.ETooMany {
			t.Errorf("fifth code from one IP: got %v", err)
		}
		if err := f.codes.Start(ctx, "r_1", "z@example.com", identity, "en", "2001:db8::1"); err != nil {
			t.Errorf("another IP: %v", err)
		}
		// a refused Start counts nothing: z@ was sent one code only
		f.clock.Add(time.Minute + time.Nanosecond)
		if err := f.codes.Start(ctx, "r_1", "y@example.com", identity, "en", ip); err != nil {
			t.Errorf("a minute later: %v", err)
		}
	})
	t.Run("wrong codes per IP", func(t *testing.T) {
		f := newFixture(t)
		f.codes.WrongPerIP = verify.Limit{N: 3, Per: time.Hour}
		if err := f.codes.Start(ctx, "r_1", addr, identity, "en", ip); err != nil {
			t.Fatal(err)
		}
		_, right := f.box.last(t)
		for i, id := range []string{"r_unknown", "r_other", "r_1"} {
			if _, err := f.codes.Check(ctx, id, formatWrong(right, i), ip); errCode(err) != garde.EInvalid {
				t.Fatalf("wrong code %d: %v", i, err)
			}
		}
		if _, err := f.codes.Check(ctx, "r_1", right, ip); errCode(err) != garde.ETooMany {
			t.Errorf("from a flooding IP: got %v, want %s", err, garde.ETooMany)
		}
		if c := f.saved(t, "r_1"); c.Attempts != 1 {
			t.Errorf("a refused IP counted an attempt: %d", c.Attempts)
		}
		if got, err := f.codes.Check(ctx, "r_1", right, "192.0.2.1"); err != nil || !bytes.Equal(got, identity) {
			t.Errorf("from another IP: %v", err)
		}
	})
	t.Run("durable", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "garde.db")
		f := fixtureOver(openDB(t, path))
		for range 3 {
			if err := f.codes.Start(ctx, "r_1", addr, identity, "en", ip); err != nil {
				t.Fatal(err)
			}
		}
		f.db.Close()
		g := fixtureOver(openDB(t, path))
		if err := g.codes.Start(ctx, "r_1", addr, identity, "en", ip); errCode(err) != garde.ETooMany {
			t.Errorf("after a restart: got %v, want %s", err, garde.ETooMany)
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		f := newFixture(t)
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		for i := range 20 {
			wg.Go(func() {
				err := f.codes.Start(ctx, "r_"+string(rune('a'+i)), addr, identity, "en", "")
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					ok++
				} else if errCode(err) != garde.ETooMany {
					t.Errorf("Start: %v", err)
				}
			})
		}
		wg.Wait()
		if ok != verify.DefaultPerAddress.N || f.box.count() != ok {
			t.Errorf("%d codes sent to one address at once, want %d", ok, verify.DefaultPerAddress.N)
		}
	})
}

// TestStartRefuses: bad input is EInvalid and sends nothing; a mail that
// cannot go is EUnavailable; no message quotes the address.
func TestStartRefuses(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	for _, c := range []struct {
		name, id, address string
		identity          []byte
	}{
		{"no address", "r_1", "", identity},
		{"not an address", "r_1", "ann", identity},
		{"display name", "r_1", "Ann <ann@example.com>", identity},
		{"header injection", "r_1", "ann@example.com\r\nBcc: eve@example.com", identity},
		{"too long", "r_1", strings.Repeat("a", 250) + "@example.com", identity},
		{"no identity", "r_1", addr, nil},
		{"huge identity", "r_1", addr, make([]byte, 257)},
		{"no request", "", addr, identity},
		{"odd request", "r_1/../x", addr, identity},
	} {
		err := f.codes.Start(ctx, c.id, c.address, c.identity, "en", ip)
		if errCode(err) != garde.EInvalid {
			t.Errorf("%s: got %v, want %s", c.name, err, garde.EInvalid)
		}
		if c.address != "" && strings.Contains(err.Error(), c.address) {
			t.Errorf("%s: the error quotes the address: %v", c.name, err)
		}
	}
	if f.box.count() != 0 {
		t.Errorf("%d mails sent", f.box.count())
	}
	f.box.fail = errors.New("smtp: 451 try later")
	err := f.codes.Start(ctx, "r_1", addr, identity, "en", ip)
	if errCode(err) != garde.EUnavailable || strings.Contains(garde.ErrorMessage(err), "smtp") {
		t.Errorf("mail down: got %v, want %s with a safe message", err, garde.EUnavailable)
	}
	unset := &verify.Codes{Store: f.st, Send: f.box.Send, Key: []byte("short")}
	if err := unset.Start(ctx, "r_1", addr, identity, "en", ip); errCode(err) != garde.EInternal {
		t.Errorf("short key: got %v, want %s", err, garde.EInternal)
	}
}

// TestNothingInClear: neither the database, nor its write-ahead log, holds
// the address, the IP or the code.
func TestNothingInClear(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	if err := f.codes.Start(ctx, "r_1", addr, identity, "en", ip); err != nil {
		t.Fatal(err)
	}
	_, code := f.box.last(t)
	if _, err := f.codes.Check(ctx, "r_1", formatWrong(code, 0), ip); errCode(err) != garde.EInvalid {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(f.db.Path + "*")
	if len(files) == 0 {
		t.Fatal("no database file")
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{addr, strings.ToLower(addr), ip, code} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s holds %q", filepath.Base(name), secret)
			}
		}
	}
}

// TestPrune: rate-limit events and dead codes go after a day, as new
// codes are asked for.
func TestPrune(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	if err := f.codes.Start(ctx, "r_old", addr, identity, "en", ip); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(25 * time.Hour)
	if err := f.codes.Start(ctx, "r_new", "bob@example.com", identity, "en", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	var events int
	err := f.db.Reader().QueryRowContext(ctx, `SELECT count(*) FROM verification_events`).Scan(&events)
	if err != nil {
		t.Fatal(err)
	}
	var codes int
	if err := f.db.Reader().QueryRowContext(ctx, `SELECT count(*) FROM verification_codes`).Scan(&codes); err != nil {
		t.Fatal(err)
	}
	if events != 2 || codes != 1 {
		t.Errorf("after a day: %d events, %d codes; want 2 and 1", events, codes)
	}
}
