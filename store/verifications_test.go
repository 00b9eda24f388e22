package store_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/rights/verify"
	"github.com/garde-privacy/garde/store"
)

var verifyT0 = time.Date(2026, 3, 2, 9, 0, 0, 123456789, time.UTC)

// TestVerificationCodes: a code round-trips to the nanosecond and is
// replaced whole; events are counted by kind, key and time; pruning keeps
// what is recent; a failing fn changes nothing; hostile values are values.
func TestVerificationCodes(t *testing.T) {
	ctx := context.Background()
	s := store.NewVerifications(openData(t))
	const hostile = `r_x'); DROP TABLE verification_codes; --`
	update := func(fn func(verify.CodeTx) error) {
		t.Helper()
		if err := s.UpdateCodes(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	find := func(id string) (verify.Code, error) {
		var c verify.Code
		var err error
		update(func(tx verify.CodeTx) error {
			c, err = tx.FindCode(ctx, id)
			return nil
		})
		return c, err
	}

	if _, err := find("r_none"); garde.ErrorCode(err) != garde.ENotFound {
		t.Errorf("missing code: got %v, want %s", err, garde.ENotFound)
	}
	a := verify.Code{RequestID: "r_a", Hash: bytes.Repeat([]byte{1}, 32), Identity: []byte("blind-index-a"),
		Created: verifyT0, Expires: verifyT0.Add(10 * time.Minute)}
	h := verify.Code{RequestID: hostile, Hash: []byte{2}, Identity: []byte{0, 1, 2}, Created: verifyT0,
		Expires: verifyT0.Add(time.Minute), Attempts: 4, Consumed: true}
	update(func(tx verify.CodeTx) error {
		for _, c := range []verify.Code{a, h} {
			if err := tx.SaveCode(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	for _, want := range []verify.Code{a, h} {
		got, err := find(want.RequestID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("round trip (-saved +found):\n%s", diff)
		}
	}

	// replaced whole; a used code keeps no identity
	a2 := verify.Code{RequestID: "r_a", Hash: bytes.Repeat([]byte{3}, 32), Created: verifyT0.Add(time.Hour),
		Expires: verifyT0.Add(3 * time.Hour), Attempts: 1, Consumed: true}
	update(func(tx verify.CodeTx) error { return tx.SaveCode(ctx, a2) })
	if got, _ := find("r_a"); !cmp.Equal(a2, got) {
		t.Errorf("replaced: got %+v, want %+v", got, a2)
	}

	// a failing fn rolls back
	boom := errors.New("boom")
	err := s.UpdateCodes(ctx, func(tx verify.CodeTx) error {
		if err := tx.SaveCode(ctx, a); err != nil {
			return err
		}
		if err := tx.CreateEvent(ctx, verify.EventIP, []byte("k"), verifyT0); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want boom", err)
	}
	if got, _ := find("r_a"); !cmp.Equal(a2, got) {
		t.Errorf("after rollback: got %+v, want %+v", got, a2)
	}

	// events
	count := func(kind string, key []byte, since time.Time) int {
		t.Helper()
		var n int
		update(func(tx verify.CodeTx) error {
			var err error
			n, err = tx.CountEvents(ctx, kind, key, since)
			return err
		})
		return n
	}
	if n := count(verify.EventIP, []byte("k"), time.Time{}); n != 0 {
		t.Errorf("rolled-back event counted: %d", n)
	}
	update(func(tx verify.CodeTx) error {
		for i := range 5 {
			for _, kind := range []string{verify.EventAddress, verify.EventIP} {
				if err := tx.CreateEvent(ctx, kind, []byte("k1"), verifyT0.Add(time.Duration(i)*time.Hour)); err != nil {
					return err
				}
			}
		}
		return tx.CreateEvent(ctx, verify.EventAddress, []byte(hostile), verifyT0)
	})
	for _, c := range []struct {
		name  string
		kind  string
		key   string
		since time.Time
		want  int
	}{
		{"all", verify.EventAddress, "k1", verifyT0, 5},
		{"since is inclusive", verify.EventAddress, "k1", verifyT0.Add(3 * time.Hour), 2},
		{"after the last", verify.EventAddress, "k1", verifyT0.Add(4*time.Hour + 1), 0},
		{"other kind", verify.EventWrongIP, "k1", verifyT0, 0},
		{"other key", verify.EventAddress, "k2", verifyT0, 0},
		{"hostile key", verify.EventAddress, hostile, verifyT0, 1},
	} {
		if got := count(c.kind, []byte(c.key), c.since); got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, got, c.want)
		}
	}

	// pruning: events before t, codes expired before t
	update(func(tx verify.CodeTx) error { return tx.DeleteBefore(ctx, verifyT0.Add(2*time.Hour)) })
	if n := count(verify.EventAddress, []byte("k1"), time.Time{}); n != 3 {
		t.Errorf("after pruning: %d events, want 3", n)
	}
	if _, err := find(hostile); garde.ErrorCode(err) != garde.ENotFound {
		t.Errorf("expired code not pruned: %v", err)
	}
	if _, err := find("r_a"); err != nil {
		t.Errorf("live code pruned: %v", err)
	}
}

// TestRememberToken: a token id is refused while remembered, forgotten
// once expired, and two ids do not collide.
func TestRememberToken(t *testing.T) {
	ctx := context.Background()
	s := store.NewVerifications(openData(t))
	id1, id2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	exp := verifyT0.Add(10 * time.Minute)
	steps := []struct {
		name string
		id   []byte
		exp  time.Time
		now  time.Time
		want string
	}{
		{"first use", id1, exp, verifyT0, ""},
		{"replay", id1, exp, verifyT0.Add(time.Minute), garde.EConflict},
		{"another token", id2, exp, verifyT0, ""},
		{"replay at expiry", id1, exp, exp, garde.EConflict},
		{"after expiry it is forgotten", id1, exp.Add(time.Hour), exp.Add(time.Nanosecond), ""},
		{"and remembered again", id1, exp.Add(time.Hour), exp.Add(time.Minute), garde.EConflict},
		{"empty id", nil, exp, verifyT0, garde.EInvalid},
	}
	for _, st := range steps {
		err := s.RememberToken(ctx, st.id, st.exp, st.now)
		if got := verifyErrCode(err); got != st.want {
			t.Errorf("%s: got %v, want %q", st.name, err, st.want)
		}
	}
}

func verifyErrCode(err error) string {
	if err == nil {
		return ""
	}
	return garde.ErrorCode(err)
}
