package rights_test

import (
	"context"
	"encoding/base64"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	json "github.com/goccy/go-json"
	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/inventory"
	"github.com/garde-privacy/garde/jws"
	"github.com/garde-privacy/garde/rights"
	"github.com/garde-privacy/garde/store"
	"github.com/garde-privacy/garde/vault"
)

type eraseEnv struct {
	data   *store.DB
	vault  *vault.Vault
	certs  *vault.Signer
	eraser *rights.Eraser
}

var erasedAt = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func newEraseEnv(t *testing.T) *eraseEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	data, err := store.OpenSQLite(ctx, filepath.Join(dir, "garde.db"), "data")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { data.Close() })
	keys, err := store.OpenSQLite(ctx, filepath.Join(dir, "keys.db"), "keys")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { keys.Close() })
	mk, err := vault.CreateMasterKeyFile(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := vault.Open(ctx, mk, store.NewKeys(keys), vault.Options{})
	if err != nil {
		t.Fatal(err)
	}
	certs, err := v.Signer(ctx, vault.UseCertificates)
	if err != nil {
		t.Fatal(err)
	}
	return &eraseEnv{data: data, vault: v, certs: certs, eraser: &rights.Eraser{
		Data: store.NewErase(data), Keys: v, KeyStore: store.NewKeys(keys), Certs: certs,
		Clock: garde.ClockFunc(func() time.Time { return erasedAt }), Inventory: inventory.MustExample(),
		Recipients: []string{"crm", "emailing"},
	}}
}

type seeded struct {
	canonical, member garde.SubjectID
	email             []byte // blind index
	sealed            []byte // the order's sealed e-mail
}

// seed writes a person (an identified subject with an anonymous one merged
// into it) as collection would: blind indexes, sealed personal values.
func (env *eraseEnv) seed(t *testing.T, email string) seeded {
	t.Helper()
	ctx := context.Background()
	s := seeded{canonical: garde.NewSubjectID(), member: garde.NewSubjectID(), email: env.vault.BlindIndex("email", email)}
	if err := env.vault.CreateKeys(ctx, []garde.SubjectID{s.canonical, s.member}); err != nil {
		t.Fatal(err)
	}
	var err error
	if s.sealed, err = env.vault.Seal(ctx, s.canonical, "properties.email", []byte(`"`+email+`"`)); err != nil {
		t.Fatal(err)
	}
	trait, err := env.vault.Seal(ctx, s.canonical, "traits.email", []byte(`"`+email+`"`))
	if err != nil {
		t.Fatal(err)
	}
	// stored as events were before garde's binary format: the erasure
	// counts the fields of rows of either format
	sealed, _ := json.Marshal(map[string]string{"properties.email": base64.RawStdEncoding.EncodeToString(s.sealed)})
	for _, q := range []struct {
		q    string
		args []any
	}{
		{`INSERT INTO subjects (id, identified, created_at, last_seen_at) VALUES (?, 1, 1, 1)`, []any{string(s.canonical)}},
		{`INSERT INTO subjects (id, merged_into, identified, created_at, last_seen_at) VALUES (?, ?, 0, 2, 2)`, []any{string(s.member), string(s.canonical)}},
		{`INSERT INTO identities (kind, hash, subject_id, created_at) VALUES ('email', ?, ?, 1)`, []any{s.email, string(s.canonical)}},
		{`INSERT INTO identities (kind, hash, subject_id, created_at) VALUES ('anon', ?, ?, 1)`, []any{env.vault.BlindIndex("anon", "a-"+email), string(s.member)}},
		{`INSERT INTO events (subject_id, source, type, name, message_id, ts, received_at, purposes, properties, context, sealed)
			VALUES (?, 'web', 'track', 'Order Completed', 'm1', 1, 1, 'service', '{"order_id":"o-1"}', '{"locale":"fr-FR"}', ?)`, []any{string(s.canonical), sealed}},
		{`INSERT INTO events (subject_id, source, type, name, message_id, ts, received_at, purposes, properties, context, sealed)
			VALUES (?, 'web', 'page', 'Home', 'm2', 1, 1, 'analytics', '{"path":"/"}', '{}', NULL)`, []any{string(s.member)}},
		{`INSERT INTO traits (subject_id, name, category, purposes, sealed, value, updated_at) VALUES (?, 'email', 'user.contact.email', 'service', 1, ?, 1)`, []any{string(s.canonical), trait}},
	} {
		if _, err := env.data.Writer().Exec(q.q, q.args...); err != nil {
			t.Fatalf("%s: %v", q.q, err)
		}
	}
	return s
}

func TestErase(t *testing.T) {
	ctx := context.Background()
	env := newEraseEnv(t)
	p := env.seed(t, "ada@example.org")
	other := env.seed(t, "grace@example.org")
	var hooked *rights.Certificate
	env.eraser.OnErased = func(_ context.Context, c *rights.Certificate) { hooked = c }

	// erasing through the merged member erases the whole person
	c, token, err := env.eraser.Erase(ctx, p.member, rights.EraseOptions{Suppress: true, Reason: "Art. 17 request r_1", Actor: "op_1"})
	if err != nil {
		t.Fatal(err)
	}
	if hooked != c {
		t.Errorf("OnErased was not called with the certificate")
	}
	want := &rights.Certificate{
		ID: c.ID, Subject: p.canonical, Members: []garde.SubjectID{p.canonical, p.member}, ErasedAt: erasedAt,
		Categories: []rights.CategoryCount{
			{Category: "business.content", Rows: 1}, {Category: "business.order", Rows: 1},
			{Category: "system.operations", Rows: 1}, {Category: "user.contact.email", Rows: 2},
		},
		Rows:       rights.Rows{Subjects: 2, Identities: 2, Events: 2, Traits: 1},
		Suppressed: true, Kept: rights.Kept,
		Told:  rights.Told{Topic: rights.TopicSubjectErased, Recipients: []string{"crm", "emailing"}},
		Actor: "op_1", Reason: "Art. 17 request r_1",
	}
	if len(c.KeysDestroyed) != 2 || !strings.HasPrefix(c.KeysDestroyed[0].Digest, "sha256:") || c.KeysDestroyed[1].Subject != p.member {
		t.Fatalf("keys destroyed: %+v", c.KeysDestroyed)
	}
	want.KeysDestroyed = c.KeysDestroyed
	if diff := cmp.Diff(want, c); diff != "" {
		t.Fatalf("certificate (-want +got):\n%s", diff)
	}
	got, err := rights.VerifyCertificate(token, jws.KeyFunc(env.certs.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c, got); diff != "" {
		t.Fatalf("verified certificate (-issued +verified):\n%s", diff)
	}
	if _, err := env.eraser.Verify(token); err != nil {
		t.Fatal(err)
	}

	// the sealed value no longer opens: the key is gone
	if _, err := env.vault.Open(ctx, p.canonical, "properties.email", p.sealed); !errors.Is(err, vault.ErrShredded) {
		t.Fatalf("Open after erasure: got %v, want ErrShredded", err)
	}
	if _, err := env.vault.Open(ctx, other.canonical, "properties.email", other.sealed); err != nil {
		t.Fatalf("the other person's value: %v", err)
	}
	// suppressed: collection can tell the person again
	if ok, err := env.eraser.Suppressed(ctx, "email", p.email); err != nil || !ok {
		t.Fatalf("Suppressed(erased) = %v, %v; want true", ok, err)
	}
	if ok, err := env.eraser.Suppressed(ctx, "email", other.email); err != nil || ok {
		t.Fatalf("Suppressed(other) = %v, %v; want false", ok, err)
	}
	// the outbox carries the signed certificate to destinations and vendors
	msgs, err := store.NewConsent(env.data).FindOutbox(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].Topic != rights.TopicSubjectErased || msgs[0].Subject != p.canonical {
		t.Fatalf("outbox: %+v", msgs)
	}
	var m rights.ErasedMessage
	if err := json.Unmarshal(msgs[0].Payload, &m); err != nil || m.Certificate != token || m.ID != c.ID || len(m.Members) != 2 {
		t.Fatalf("outbox payload %s: %v", msgs[0].Payload, err)
	}

	// bad input
	for _, tc := range []struct {
		name    string
		subject garde.SubjectID
		opts    rights.EraseOptions
		code    string
	}{
		{"erased already", p.canonical, rights.EraseOptions{Actor: "op_1"}, garde.ENotFound},
		{"unknown", garde.NewSubjectID(), rights.EraseOptions{Actor: "op_1"}, garde.ENotFound},
		{"malformed", "ada@example.org", rights.EraseOptions{Actor: "op_1"}, garde.EInvalid},
		{"no actor", other.canonical, rights.EraseOptions{}, garde.EInvalid},
		{"long reason", other.canonical, rights.EraseOptions{Actor: "op_1", Reason: strings.Repeat("x", 501)}, garde.EInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, tok, err := env.eraser.Erase(ctx, tc.subject, tc.opts)
			if garde.ErrorCode(err) != tc.code || c != nil || tok != "" {
				t.Fatalf("got %v, %q, %v; want %s", c, tok, err, tc.code)
			}
			if strings.Contains(garde.ErrorMessage(err), "ada") {
				t.Fatalf("the public message quotes the input: %q", garde.ErrorMessage(err))
			}
		})
	}
	if _, err := env.vault.Open(ctx, other.canonical, "properties.email", other.sealed); err != nil {
		t.Fatalf("a refused erasure touched the other person: %v", err)
	}
}

func TestVerifyCertificateTampered(t *testing.T) {
	ctx := context.Background()
	env := newEraseEnv(t)
	p := env.seed(t, "ada@example.org")
	_, token, err := env.eraser.Erase(ctx, p.canonical, rights.EraseOptions{Actor: "op_1"})
	if err != nil {
		t.Fatal(err)
	}
	keys := jws.KeyFunc(env.certs.PublicKey)
	parts := strings.Split(token, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	forged := strings.Replace(string(payload), `"events":2`, `"events":0`, 1)
	if forged == string(payload) {
		t.Fatalf("payload %s has no event count to forge", payload)
	}
	otherKey, err := env.vault.Signer(ctx, vault.UseReceipts)
	if err != nil {
		t.Fatal(err)
	}
	receiptTyped, err := jws.Sign(otherKey, "garde-receipt+jwt", payload)
	if err != nil {
		t.Fatal(err)
	}
	wrongTyp, err := jws.Sign(env.certs, "garde-receipt+jwt", payload)
	if err != nil {
		t.Fatal(err)
	}
	notACert, err := jws.Sign(env.certs, rights.CertificateType, []byte(`{"id":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{
		"payload changed":     parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + parts[2],
		"signature truncated": token[:len(token)-2],
		"another use's key":   receiptTyped,
		"another typ":         wrongTyp,
		"incomplete payload":  notACert,
		"empty":               "",
	} {
		t.Run(name, func(t *testing.T) {
			if c, err := rights.VerifyCertificate(tok, keys); garde.ErrorCode(err) != garde.EInvalid || c != nil {
				t.Fatalf("got %v, %v; want EInvalid", c, err)
			}
		})
	}
}
