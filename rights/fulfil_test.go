package rights_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/inventory"
	"github.com/garde-privacy/garde/rights"
	"github.com/garde-privacy/garde/store"
)

// fulfilEnv is a Fulfiller over a real request store whose erasure,
// export and ledger are recorded calls.
type fulfilEnv struct {
	f       *rights.Fulfiller
	svc     *rights.Service
	erased  []garde.SubjectID
	decided map[string]string
	exports int
}

func newFulfilEnv(t *testing.T) *fulfilEnv {
	t.Helper()
	db, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "garde.db"), "data")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	reqs := store.NewRequests(db)
	env := &fulfilEnv{svc: rights.NewService(reqs, &testClock{time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)})}
	// a reversible toy seal is enough here: sealing is the vault's, tested there
	flip := func(b []byte) ([]byte, error) {
		out := make([]byte, len(b))
		for i := range b {
			out[i] = b[i] ^ 0x5a
		}
		return out, nil
	}
	env.f = &rights.Fulfiller{
		Service: env.svc, Inventory: inventory.MustExample(), Outcomes: reqs, Seal: flip, Open: flip,
		Erase: func(_ context.Context, s garde.SubjectID, o rights.EraseOptions) (*rights.Certificate, string, error) {
			for _, e := range env.erased {
				if e == s {
					return nil, "", garde.Errorf(garde.ENotFound, "no such subject")
				}
			}
			env.erased = append(env.erased, s)
			return &rights.Certificate{ID: "er_x"}, "cert." + string(s), nil
		},
		Export: func(_ context.Context, r rights.Request, lang string) (string, time.Time, error) {
			env.exports++
			return "tok-" + lang, time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC), nil
		},
		Decide: func(_ context.Context, s garde.SubjectID, d map[string]string, _ string) error {
			env.decided = d
			return nil
		},
	}
	return env
}

func (env *fulfilEnv) verified(t *testing.T, typ rights.Type, s garde.SubjectID) rights.Request {
	t.Helper()
	ctx := context.Background()
	r, err := env.svc.Create(ctx, rights.Draft{Type: typ, Jurisdiction: rights.GDPR})
	if err != nil {
		t.Fatal(err)
	}
	if r, err = env.svc.Verify(ctx, r.ID, s); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestFulfilErasureOnceAndRetried(t *testing.T) {
	env := newFulfilEnv(t)
	ctx := context.Background()
	s := garde.NewSubjectID()
	r := env.verified(t, rights.Erasure, s)
	if err := env.f.Run(ctx, r.ID, "privacy-centre"); err != nil {
		t.Fatal(err)
	}
	// a retried job (its first answer lost) does not erase or answer twice
	if err := env.f.Run(ctx, r.ID, "privacy-centre"); err != nil {
		t.Fatal(err)
	}
	if len(env.erased) != 1 {
		t.Fatalf("erased %d times", len(env.erased))
	}
	got, err := env.svc.Find(ctx, r.ID)
	if err != nil || got.State != rights.StateCompleted {
		t.Fatalf("state %s, %v", got.State, err)
	}
	out, err := env.f.FindOutcome(ctx, r.ID)
	if err != nil || out.Certificate != "cert."+string(s) || !out.Known {
		t.Fatalf("outcome %+v, %v", out, err)
	}
}

func TestFulfilRefusesUnverified(t *testing.T) {
	env := newFulfilEnv(t)
	ctx := context.Background()
	r, err := env.svc.Create(ctx, rights.Draft{Type: rights.Access, Jurisdiction: rights.GDPR})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.f.Run(ctx, r.ID, "x"); garde.ErrorCode(err) != garde.EForbidden {
		t.Fatalf("unverified request ran: %v", err)
	}
	if env.exports != 0 {
		t.Fatal("a copy was built before verification")
	}
}

func TestFulfilAccessInPersonsLanguage(t *testing.T) {
	env := newFulfilEnv(t)
	ctx := context.Background()
	r := env.verified(t, rights.Access, garde.NewSubjectID())
	if err := env.f.SaveOutcome(ctx, r.ID, rights.Outcome{Lang: "fr"}); err != nil {
		t.Fatal(err)
	}
	if err := env.f.Run(ctx, r.ID, "x"); err != nil {
		t.Fatal(err)
	}
	out, err := env.f.FindOutcome(ctx, r.ID)
	if err != nil || out.Download != "tok-fr" || out.DownloadExpires.IsZero() {
		t.Fatalf("outcome %+v, %v", out, err)
	}
}

func TestLedgerDecisions(t *testing.T) {
	inv := inventory.MustExample()
	if d := rights.LedgerDecisions(inv, rights.Restriction); !cmp.Equal(d, map[string]string{"*": "restricted"}) {
		t.Errorf("restriction: %v", d)
	}
	for _, c := range []struct {
		t        rights.Type
		decision string
		applies  func(p *inventory.Purpose) bool
	}{
		{rights.Objection, "objected", func(p *inventory.Purpose) bool { return p.LegalBasis == inventory.LegitimateInterests }},
		{rights.OptOutSaleSharing, "opted_out", func(p *inventory.Purpose) bool { return p.SaleOrSharing }},
		{rights.LimitSensitive, "withdrawn", func(p *inventory.Purpose) bool { return p.ExplicitConsent }},
	} {
		want := map[string]string{}
		for _, p := range inv.Purposes {
			if c.applies(p) {
				want[p.Key] = c.decision
			}
		}
		if len(want) == 0 {
			t.Errorf("%s: the example inventory has no purpose it applies to: the case tests nothing", c.t)
		}
		if d := rights.LedgerDecisions(inv, c.t); !cmp.Equal(d, want) {
			t.Errorf("%s: %v, want %v", c.t, d, want)
		}
	}
	if d := rights.LedgerDecisions(inv, rights.Access); len(d) != 0 {
		t.Errorf("access wrote decisions: %v", d)
	}
}

func TestFulfilUnknownPerson(t *testing.T) {
	env := newFulfilEnv(t)
	ctx := context.Background()
	// verified, but the address names no one Garde knows
	r := env.verified(t, rights.Erasure, "")
	if err := env.f.Run(ctx, r.ID, "x"); err != nil {
		t.Fatal(err)
	}
	out, err := env.f.FindOutcome(ctx, r.ID)
	if err != nil || out.Known || out.Certificate != "" || len(env.erased) != 0 {
		t.Fatalf("outcome %+v, erased %v, %v", out, env.erased, err)
	}
}
