package rights_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/inventory"
	"github.com/garde-privacy/garde/rights"
	"github.com/garde-privacy/garde/store"
	"github.com/garde-privacy/garde/vault"
)

// The erasure targets (rights issue): one subject, vendor notification
// excluded, p99 ≤ 5 ms; 10,000 erasures in ≤ 10 s. The benchmarks run on
// real SQLite files (data and key databases, WAL, synchronous=FULL,
// secure_delete) and a real vault; seeding is outside the timer.
//
//	go test -run '^$' -bench 'BenchmarkErase$' -benchtime 2000x ./rights/
//	go test -run '^$' -bench 'BenchmarkErase10k' -benchtime 1x ./rights/

// benchBackground is how many other people share the databases with the
// erased ones, so that erasure works on tables and indexes of some depth.
const benchBackground = 2000

type benchEnv struct {
	data, keys *store.DB
	vault      *vault.Vault
	eraser     *rights.Eraser
}

func newBenchEnv(tb testing.TB) *benchEnv {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	data, err := store.OpenSQLite(ctx, filepath.Join(dir, "garde.db"), "data")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { data.Close() })
	keys, err := store.OpenSQLite(ctx, filepath.Join(dir, "keys.db"), "keys")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { keys.Close() })
	mk, err := vault.CreateMasterKeyFile(filepath.Join(dir, "master.key"))
	if err != nil {
		tb.Fatal(err)
	}
	v, err := vault.Open(ctx, mk, store.NewKeys(keys), vault.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	certs, err := v.Signer(ctx, vault.UseCertificates)
	if err != nil {
		tb.Fatal(err)
	}
	return &benchEnv{data: data, keys: keys, vault: v, eraser: &rights.Eraser{
		Data: store.NewErase(data), Keys: v, KeyStore: store.NewKeys(keys), Certs: certs,
		Clock: garde.ClockFunc(func() time.Time { return erasedAt }), Inventory: inventory.MustExample(),
		Recipients: []string{"crm", "emailing"},
	}}
}

// seedPeople writes n people as collection would leave them: an identified
// subject with an anonymous one merged into it (two data keys), two
// identities (e-mail, anonymous id), 20 events (15 of the identified
// subject, 5 anonymous page views; orders, sign-up and store visits carry
// sealed personal values) and 5 traits (3 sealed). It returns the
// identified subjects. Rows go in one transaction of prepared inserts.
func (env *benchEnv) seedPeople(tb testing.TB, n int) []garde.SubjectID {
	tb.Helper()
	ctx := context.Background()
	people := make([]garde.SubjectID, n)
	members := make([]garde.SubjectID, n)
	all := make([]garde.SubjectID, 0, 2*n)
	for i := range people {
		people[i], members[i] = garde.NewSubjectID(), garde.NewSubjectID()
		all = append(all, people[i], members[i])
	}
	for start := 0; start < len(all); start += 5000 {
		if err := env.vault.CreateKeys(ctx, all[start:min(start+5000, len(all))]); err != nil {
			tb.Fatal(err)
		}
	}
	tx, err := env.data.Writer().BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	prep := func(q string) func(args ...any) {
		st, err := tx.PrepareContext(ctx, q)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { st.Close() })
		return func(args ...any) {
			if _, err := st.ExecContext(ctx, args...); err != nil {
				tb.Fatalf("%s: %v", q, err)
			}
		}
	}
	subject := prep(`INSERT INTO subjects (id, merged_into, identified, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)`)
	ident := prep(`INSERT INTO identities (kind, hash, subject_id, created_at) VALUES (?, ?, ?, ?)`)
	event := prep(`INSERT INTO events (subject_id, source, type, name, message_id, ts, received_at, purposes, properties, context, sealed)
		VALUES (?, 'web', ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	trait := prep(`INSERT INTO traits (subject_id, name, category, purposes, sealed, value, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`)
	seal := func(s garde.SubjectID, field, value string) []byte {
		c, err := env.vault.Seal(ctx, s, field, []byte(`"`+value+`"`))
		if err != nil {
			tb.Fatal(err)
		}
		return c
	}
	sealedFields := func(s garde.SubjectID, fields ...string) []byte {
		var b []byte
		for i := 0; i < len(fields); i += 2 {
			b = garde.AppendSealedField(b, fields[i], seal(s, fields[i], fields[i+1]))
		}
		return b
	}
	const ctxt = `{"locale":"fr-FR","timezone":"Europe/Paris","library.name":"analytics.js"}`
	at := erasedAt.Add(-90 * 24 * time.Hour).UnixMilli()
	for i, p := range people {
		m := members[i]
		email := "person-" + string(p) + "@example.org"
		subject(string(p), nil, 1, at, at)
		subject(string(m), string(p), 0, at, at)
		ident("email", env.vault.BlindIndex("email", email), string(p), at)
		ident("anon", env.vault.BlindIndex("anon", "anon-"+email), string(m), at)
		for j := range 5 {
			event(string(m), "page", "Home", fmt.Sprintf("mp%d-%d", i, j), at, at, "analytics", `{"path":"/"}`, ctxt, nil)
		}
		for j := range 15 {
			typ, name, purposes, props := "track", "Product Viewed", "analytics,personalisation", fmt.Sprintf(`{"product_id":"sku-%d","price":19.9,"currency":"EUR"}`, j)
			var sealed []byte
			switch j {
			case 0:
				name, purposes, props = "Signed Up", "service,email_marketing", `{"plan":"free"}`
				sealed = sealedFields(p, "properties.email", email, "properties.first_name", "Ada")
			case 5, 10:
				name, purposes, props = "Order Completed", "service,legal_accounting", fmt.Sprintf(`{"order_id":"o-%d-%d","total":42,"currency":"EUR"}`, i, j)
				sealed = sealedFields(p, "properties.email", email, "properties.phone", "+33 6 12 34 56 78")
			case 7, 12:
				name, purposes, props = "Store Visited", "analytics", `{"store_id":"paris-1"}`
				sealed = sealedFields(p, "properties.location", "48.8566,2.3522")
			}
			event(string(p), typ, name, fmt.Sprintf("m%d-%d", i, j), at, at, purposes, props, ctxt, sealed)
		}
		trait(string(p), "email", "user.contact.email", "service,email_marketing", 1, seal(p, "traits.email", email), at)
		trait(string(p), "first_name", "user.name", "service,email_marketing", 1, seal(p, "traits.first_name", "Ada"), at)
		trait(string(p), "phone", "user.contact.phone_number", "service", 1, seal(p, "traits.phone", "+33 6 12 34 56 78"), at)
		trait(string(p), "plan", "business.marketing", "service", 0, []byte(`"free"`), at)
		trait(string(p), "loyalty_tier", "business.marketing", "loyalty_programme", 0, []byte(`"gold"`), at)
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	// start the timed part from a truncated log, as a running instance is
	// after its periodic checkpoint
	for _, db := range []*store.DB{env.data, env.keys} {
		if err := db.Checkpoint(ctx); err != nil {
			tb.Fatal(err)
		}
	}
	return people
}

// eraseOpts is the benchmarks' erasure: with suppression markers, the
// heavier case.
var eraseOpts = rights.EraseOptions{Suppress: true, Reason: "Art. 17 request", Actor: "op_bench"}

// BenchmarkErase erases people one after another, each a whole Erase
// (keys shredded, rows deleted, certificate signed, logs truncated);
// p99-ms is the 99th percentile of one erasure.
func BenchmarkErase(b *testing.B) {
	env := newBenchEnv(b)
	env.seedPeople(b, benchBackground)
	people := env.seedPeople(b, b.N)
	ctx := context.Background()
	took := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		if _, _, err := env.eraser.Erase(ctx, people[i], eraseOpts); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	b.StopTimer()
	reportPercentiles(b, took)
}

// freshPeople is a new Garde holding the background population and n
// people to erase, made with the timer stopped.
func freshPeople(b *testing.B, n int) (*benchEnv, []garde.SubjectID) {
	b.StopTimer()
	defer b.StartTimer()
	env := newBenchEnv(b)
	env.seedPeople(b, benchBackground)
	return env, env.seedPeople(b, n)
}

// BenchmarkErase10k is the bulk target: 10,000 people erased one Erase
// after another; total-s is the time of the whole 10,000.
func BenchmarkErase10k(b *testing.B) {
	const n = 10_000
	var total time.Duration
	took := make([]time.Duration, 0, n*b.N)
	for range b.N {
		env, people := freshPeople(b, n)
		ctx := context.Background()
		start := time.Now()
		for _, p := range people {
			t := time.Now()
			if _, _, err := env.eraser.Erase(ctx, p, eraseOpts); err != nil {
				b.Fatal(err)
			}
			took = append(took, time.Since(t))
		}
		total += time.Since(start)
	}
	b.StopTimer()
	b.ReportMetric(total.Seconds()/float64(b.N), "total-s")
	reportPercentiles(b, took)
}

// BenchmarkEraseMany10k is the bulk target through EraseMany: 10,000
// people in one call (batches of people share a key-database transaction,
// a data transaction and one checkpoint of each log); total-s is the time
// of the whole 10,000.
func BenchmarkEraseMany10k(b *testing.B) {
	const n = 10_000
	var total time.Duration
	for range b.N {
		env, people := freshPeople(b, n)
		ctx := context.Background()
		start := time.Now()
		results, err := env.eraser.EraseMany(ctx, people, eraseOpts)
		total += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range results {
			if r.Err != nil || r.Certificate == nil {
				b.Fatalf("%s: %v", r.Subject, r.Err)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(total.Seconds()/float64(b.N), "total-s")
	b.ReportMetric(float64(total)/float64(b.N*n)/float64(time.Millisecond), "ms/erasure")
}

// reportPercentiles reports the median and the 99th percentile of took.
func reportPercentiles(b *testing.B, took []time.Duration) {
	if len(took) == 0 {
		return
	}
	slices.Sort(took)
	at := func(q float64) float64 {
		return float64(took[min(len(took)-1, int(q*float64(len(took))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

// TestBenchSeedErasable checks that what the benchmarks seed is erasable
// and counted: the benchmarks measure real erasures.
func TestBenchSeedErasable(t *testing.T) {
	env := newBenchEnv(t)
	people := env.seedPeople(t, 3)
	c, _, err := env.eraser.Erase(context.Background(), people[1], eraseOpts)
	if err != nil {
		t.Fatal(err)
	}
	want := rights.Rows{Subjects: 2, Identities: 2, Events: 20, Traits: 5}
	if c.Rows != want || len(c.Members) != 2 || len(c.KeysDestroyed) != 2 || strings.Count(c.KeysDestroyed[1].Digest, "sha256:") != 1 {
		t.Fatalf("certificate: rows %+v, members %v, keys %+v; want rows %+v", c.Rows, c.Members, c.KeysDestroyed, want)
	}
	var n int
	if err := env.data.Reader().QueryRow(`SELECT count(*) FROM events`).Scan(&n); err != nil || n != 40 {
		t.Fatalf("events left: %d, %v; want 40", n, err)
	}
}

// TestEraseMany: each subject gets what Erase would give it, subjects of
// one person share the person's certificate, and the rows, keys and logs of
// the erased go while the others stay.
func TestEraseMany(t *testing.T) {
	ctx := context.Background()
	env := newBenchEnv(t)
	people := env.seedPeople(t, 5)
	members := func(s garde.SubjectID) []garde.SubjectID {
		ms, err := env.eraser.Data.FindMembers(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		return ms
	}
	p1 := members(people[1])
	var hooked []string
	env.eraser.OnErased = func(_ context.Context, c *rights.Certificate) { hooked = append(hooked, c.ID) }
	// what must leave every file: the erased people's blind indexes and
	// wrapped keys
	var secrets [][]byte
	for _, p := range people[:3] {
		for _, m := range members(p) {
			rows, err := env.data.Reader().Query(`SELECT hash FROM identities WHERE subject_id = ?`, string(m))
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var h []byte
				rows.Scan(&h)
				secrets = append(secrets, h)
			}
			rows.Close()
			wk, ok, err := store.NewKeys(env.keys).FindSubjectKey(ctx, m)
			if err != nil || !ok {
				t.Fatalf("key of %s: %v, %v", m, ok, err)
			}
			secrets = append(secrets, wk.Wrapped)
		}
	}
	if len(secrets) != 12 {
		t.Fatalf("%d secrets, want 12", len(secrets))
	}
	var before []byte // the scan below must be able to find them
	for _, f := range []string{"garde.db", "keys.db"} {
		b, err := os.ReadFile(filepath.Join(filepath.Dir(env.data.Path), f))
		if err != nil {
			t.Fatal(err)
		}
		before = append(before, b...)
	}
	for i, x := range secrets {
		if !bytes.Contains(before, x) {
			t.Fatalf("secret %d is in no file before the erasure", i)
		}
	}
	unknown := garde.NewSubjectID()
	asked := []garde.SubjectID{people[0], p1[1], "not-an-id", p1[0], unknown, people[2], people[0]}
	results, err := env.eraser.EraseMany(ctx, asked, eraseOpts)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != len(asked) {
		t.Fatalf("%d results for %d subjects", len(results), len(asked))
	}
	for i, want := range []struct {
		code string
		same int // index of the result whose certificate it shares (-1: none)
	}{{"", -1}, {"", -1}, {garde.EInvalid, -1}, {"", 1}, {garde.ENotFound, -1}, {"", -1}, {"", 0}} {
		r := results[i]
		code := ""
		if r.Err != nil {
			code = garde.ErrorCode(r.Err)
		}
		if r.Subject != asked[i] || code != want.code {
			t.Errorf("result %d: %s, %v; want %s, code %q", i, r.Subject, r.Err, asked[i], want.code)
			continue
		}
		if want.code != "" {
			if r.Certificate != nil || r.Token != "" {
				t.Errorf("result %d: a certificate for a failure", i)
			}
			continue
		}
		if want.same >= 0 && (r.Certificate != results[want.same].Certificate || r.Token != results[want.same].Token) {
			t.Errorf("result %d does not share the certificate of result %d", i, want.same)
		}
		c, err := env.eraser.Verify(r.Token)
		if err != nil {
			t.Fatalf("result %d: %v", i, err)
		}
		if c.ID != r.Certificate.ID || c.Rows != (rights.Rows{Subjects: 2, Identities: 2, Events: 20, Traits: 5}) || len(c.KeysDestroyed) != 2 || len(c.Categories) == 0 || !c.Suppressed {
			t.Errorf("result %d: certificate %+v", i, c)
		}
	}
	if len(hooked) != 3 {
		t.Errorf("OnErased ran %d times, want 3 (one per person)", len(hooked))
	}
	count := func(q string, args ...any) int {
		var n int
		if err := env.data.Reader().QueryRow(q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(`SELECT count(*) FROM events`); n != 2*20 {
		t.Errorf("%d events left, want the 40 of the two people kept", n)
	}
	if n := count(`SELECT count(*) FROM outbox WHERE topic = ?`, rights.TopicSubjectErased); n != 3 {
		t.Errorf("%d outbox messages, want 3", n)
	}
	if n := count(`SELECT count(*) FROM suppressions`); n != 6 {
		t.Errorf("%d suppression markers, want 6", n)
	}
	for i, p := range people {
		ok, err := env.vault.HasKey(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if erased := i < 3; ok == erased {
			t.Errorf("person %d (erased: %v) has a key: %v", i, erased, ok)
		}
	}
	for _, f := range []string{"garde.db", "garde.db-wal", "keys.db", "keys.db-wal"} {
		b, err := os.ReadFile(filepath.Join(filepath.Dir(env.data.Path), f))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if strings.HasSuffix(f, "-wal") && len(b) != 0 {
			t.Errorf("%s holds %d bytes after EraseMany", f, len(b))
		}
		for i, x := range secrets {
			if bytes.Contains(b, x) {
				t.Errorf("%s still holds secret %d of the erased", f, i)
			}
		}
	}
	if _, err := env.eraser.EraseMany(ctx, people[3:], rights.EraseOptions{}); garde.ErrorCode(err) != garde.EInvalid {
		t.Errorf("EraseMany without an actor: got %v, want %s", err, garde.EInvalid)
	}
}

// TestEraseManyBatches erases more people than one batch holds.
func TestEraseManyBatches(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 600 people")
	}
	ctx := context.Background()
	env := newBenchEnv(t)
	kept := env.seedPeople(t, 3)
	people := env.seedPeople(t, 600)
	results, err := env.eraser.EraseMany(ctx, people, eraseOpts)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for i, r := range results {
		if r.Err != nil || r.Certificate == nil || r.Certificate.Subject != people[i] || r.Certificate.Rows.Events != 20 {
			t.Fatalf("result %d: %+v", i, r)
		}
		ids[r.Certificate.ID] = true
	}
	if len(ids) != len(people) {
		t.Errorf("%d distinct certificates for %d people", len(ids), len(people))
	}
	var n int
	if err := env.data.Reader().QueryRow(`SELECT count(*) FROM subjects`).Scan(&n); err != nil || n != 2*len(kept) {
		t.Errorf("%d subjects left (%v), want %d", n, err, 2*len(kept))
	}
}

// TestShredThenOrder checks what Erase relies on to overlap the two
// databases: when ShredThen calls deleted, the keys are already unreadable
// (Open fails, from this vault and from the key store), and when it returns
// the key database's log is truncated.
func TestShredThenOrder(t *testing.T) {
	ctx := context.Background()
	env := newBenchEnv(t)
	s := env.seedPeople(t, 1)[0]
	sealed, err := env.vault.Seal(ctx, s, "traits.email", []byte(`"x"`))
	if err != nil {
		t.Fatal(err)
	}
	called := 0
	err = env.vault.ShredThen(ctx, func() {
		called++
		if _, err := env.vault.Open(ctx, s, "traits.email", sealed); !errors.Is(err, vault.ErrShredded) {
			t.Errorf("Open when deleted is called: got %v, want ErrShredded", err)
		}
		if _, ok, err := store.NewKeys(env.keys).FindSubjectKey(ctx, s); ok || err != nil {
			t.Errorf("the key store still has the key when deleted is called (%v)", err)
		}
	}, s)
	if err != nil || called != 1 {
		t.Fatalf("ShredThen = %v, deleted called %d times; want nil, once", err, called)
	}
	if fi, err := os.Stat(env.keys.Path + "-wal"); err == nil && fi.Size() != 0 {
		t.Errorf("the key database's log holds %d bytes after ShredThen", fi.Size())
	}
}
