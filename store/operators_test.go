package store_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/access"
	"github.com/garde-privacy/garde/store"
)

var opTime = time.UnixMilli(1_772_000_000_000).UTC()

func TestOperatorsCRUD(t *testing.T) {
	ctx := context.Background()
	s := store.NewOperators(openData(t))
	o := &access.Operator{
		ID: "op_1", Email: "ana@example.com", Name: "Ana", Role: "analyst",
		PasswordHash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", PasswordChanged: opTime,
		Created: opTime,
	}
	if err := s.CreateOperator(ctx, o); err != nil {
		t.Fatal(err)
	}
	dup := *o
	dup.ID = "op_2"
	if err := s.CreateOperator(ctx, &dup); garde.ErrorCode(err) != garde.EConflict {
		t.Errorf("same email twice: got %v, want %s", err, garde.EConflict)
	}
	got, err := s.FindOperatorByEmail(ctx, "ana@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(o, got); diff != "" {
		t.Errorf("FindOperatorByEmail (-want +got):\n%s", diff)
	}
	o.Role, o.TOTPSealed, o.TOTPLastStep, o.MFAEnabled = "dpo", []byte{1, 2, 3}, 59_000_000, true
	o.RecoveryCodes = []string{"aa", "bb"}
	o.FailedLogins, o.LockedUntil, o.Disabled = 3, opTime.Add(time.Minute), true
	if err := s.UpdateOperator(ctx, o); err != nil {
		t.Fatal(err)
	}
	got, err = s.FindOperatorByID(ctx, "op_1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(o, got); diff != "" {
		t.Errorf("after UpdateOperator (-want +got):\n%s", diff)
	}
	if n, err := s.CountOperators(ctx, "dpo"); n != 1 || err != nil {
		t.Errorf("CountOperators(dpo) = %d, %v", n, err)
	}
	if ops, err := s.FindOperators(ctx); len(ops) != 1 || err != nil {
		t.Errorf("FindOperators = %d, %v", len(ops), err)
	}
	for name, err := range map[string]error{
		"FindOperatorByID":    second(s.FindOperatorByID(ctx, "op_x")),
		"FindOperatorByEmail": second(s.FindOperatorByEmail(ctx, "x@example.com")),
		"UpdateOperator":      s.UpdateOperator(ctx, &access.Operator{ID: "op_x", Email: "y@example.com"}),
	} {
		if garde.ErrorCode(err) != garde.ENotFound {
			t.Errorf("%s of a missing operator: got %v, want %s", name, err, garde.ENotFound)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestOperatorSessions(t *testing.T) {
	ctx := context.Background()
	s := store.NewOperators(openData(t))
	s.CreateOperator(ctx, &access.Operator{ID: "op_1", Email: "a@example.com", Role: "admin", PasswordHash: "h", Created: opTime, PasswordChanged: opTime})
	ses := &access.Session{ID: "ses_1", OperatorID: "op_1", TokenHash: bytes.Repeat([]byte{9}, 32), MFA: true,
		Created: opTime, LastSeen: opTime, Expires: opTime.Add(12 * time.Hour)}
	if err := s.CreateSession(ctx, ses); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindSession(ctx, ses.TokenHash)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ses, got); diff != "" {
		t.Errorf("FindSession (-want +got):\n%s", diff)
	}
	s.TouchSession(ctx, "ses_1", opTime.Add(time.Hour))
	s.TouchSession(ctx, "ses_1", opTime.Add(time.Minute)) // late, older: ignored
	if got, _ := s.FindSession(ctx, ses.TokenHash); !got.LastSeen.Equal(opTime.Add(time.Hour)) {
		t.Errorf("LastSeen = %v, want the latest touch", got.LastSeen)
	}
	if _, err := s.FindSession(ctx, []byte("nope")); garde.ErrorCode(err) != garde.ENotFound {
		t.Errorf("unknown hash: %v", err)
	}
	ses2 := *ses
	ses2.ID, ses2.TokenHash, ses2.LastSeen = "ses_2", bytes.Repeat([]byte{8}, 32), opTime
	s.CreateSession(ctx, &ses2)
	if n, err := s.DeleteStaleSessions(ctx, opTime.Add(time.Hour), opTime.Add(time.Minute)); n != 1 || err != nil {
		t.Errorf("DeleteStaleSessions = %d, %v; want the idle one", n, err)
	}
	if err := s.DeleteOperatorSessions(ctx, "op_1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FindSession(ctx, ses.TokenHash); garde.ErrorCode(err) != garde.ENotFound {
		t.Errorf("after DeleteOperatorSessions: %v", err)
	}
}

func TestOperatorTrainings(t *testing.T) {
	ctx := context.Background()
	s := store.NewOperators(openData(t))
	s.CreateOperator(ctx, &access.Operator{ID: "op_1", Email: "a@example.com", Role: "admin", PasswordHash: "h", Created: opTime, PasswordChanged: opTime})
	want := []access.Training{
		{OperatorID: "op_1", Course: "data_protection", CompletedAt: opTime, ValidUntil: opTime.AddDate(1, 0, 0)},
		{OperatorID: "op_1", Course: "phishing", CompletedAt: opTime.Add(time.Hour), ValidUntil: opTime.AddDate(2, 0, 0)},
	}
	for _, tr := range want {
		if err := s.CreateTraining(ctx, tr); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.FindTrainings(ctx, "op_1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FindTrainings (-want +got):\n%s", diff)
	}
	if got, _ := s.FindTrainings(ctx, "op_2"); len(got) != 0 {
		t.Errorf("another operator's trainings: %v", got)
	}
}

// TestAuthOverSQLite runs the sign-in flow of access over the SQL store.
func TestAuthOverSQLite(t *testing.T) {
	ctx := context.Background()
	sealer, _ := access.NewAESSealer(bytes.Repeat([]byte{1}, 32))
	now := opTime
	clock := garde.ClockFunc(func() time.Time { return now })
	auth, err := access.NewAuth(access.Config{Store: store.NewOperators(openData(t)), Sealer: sealer, Clock: clock,
		Argon2: access.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}})
	if err != nil {
		t.Fatal(err)
	}
	pw, url, recovery, err := auth.CreateFirstAdmin(ctx, "root@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := auth.CreateFirstAdmin(ctx, "again@example.com"); garde.ErrorCode(err) != garde.EConflict {
		t.Errorf("second admin: %v", err)
	}
	_ = url
	ses, err := auth.Login(ctx, "root@example.com", pw, recovery[0], "127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	o, _, err := auth.Authenticate(ctx, ses.Token)
	if err != nil || o.Role != access.RoleAdmin {
		t.Fatalf("Authenticate = %v, %v", o, err)
	}
	if _, err := auth.Login(ctx, "root@example.com", pw, recovery[0], "127.0.0.1:1"); garde.ErrorCode(err) != garde.EUnauthorized {
		t.Errorf("recovery code reused: %v", err)
	}
	if err := auth.RecordTraining(ctx, access.Training{OperatorID: o.ID, Course: "data_protection", CompletedAt: now}); err != nil {
		t.Fatal(err)
	}
	if st, err := auth.TrainingStatus(ctx, o.ID, now.Add(time.Hour)); !st.Valid || err != nil {
		t.Errorf("TrainingStatus = %+v, %v", st, err)
	}
	now = now.Add(31 * time.Minute)
	if _, _, err := auth.Authenticate(ctx, ses.Token); garde.ErrorCode(err) != garde.EUnauthorized {
		t.Errorf("idle session: %v", err)
	}
}

func TestAPIKeysStore(t *testing.T) {
	ctx := context.Background()
	ks := store.NewAPIKeys(openData(t))
	secret, k, err := access.IssueAPIKey(ctx, ks, access.APIKey{Name: "sync", Role: "marketer",
		Purposes: []string{"email_marketing", "analytics"}, ExpiresAt: opTime.Add(time.Hour)}, opTime)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := access.NewAPIKey(ctx, ks, "legacy", access.RoleAdmin, opTime.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+secret)
	got, err := access.Authenticate(ctx, ks, r, opTime.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	k.LastUsedAt = opTime.Add(time.Minute)
	if diff := cmp.Diff(k, got); diff != "" {
		t.Errorf("Authenticate (-want +got):\n%s", diff)
	}
	keys, err := ks.FindAPIKeys(ctx)
	if err != nil || len(keys) != 2 || keys[1].ID != k.ID || !keys[1].LastUsedAt.Equal(opTime.Add(time.Minute)) {
		t.Fatalf("FindAPIKeys = %v, %v", keys, err)
	}
	if keys[0].Purposes != nil || keys[0].LastUsedAt != (time.Time{}) {
		t.Errorf("legacy key: %+v", keys[0])
	}
	if err := ks.DeleteAPIKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if err := ks.DeleteAPIKey(ctx, k.ID); garde.ErrorCode(err) != garde.ENotFound {
		t.Errorf("delete twice: %v", err)
	}
	if _, err := access.Authenticate(ctx, ks, r, opTime.Add(time.Minute)); garde.ErrorCode(err) != garde.EUnauthorized {
		t.Errorf("revoked key: %v", err)
	}
}
