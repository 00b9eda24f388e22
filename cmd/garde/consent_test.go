package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	json "github.com/goccy/go-json"

	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/consent"
	"github.com/garde-privacy/garde/gardetest"
	"github.com/garde-privacy/garde/jws"
	"github.com/garde-privacy/garde/store"
)

func (in *instance) count(q string, args ...any) int {
	in.t.Helper()
	var n int
	if err := in.m.Data.Reader().QueryRow(q, args...).Scan(&n); err != nil {
		in.t.Fatal(err)
	}
	return n
}

func purposesOf(st map[string]any) map[string]bool {
	out := map[string]bool{}
	for _, p := range st["purposes"].([]any) {
		m := p.(map[string]any)
		out[m["purpose"].(string)] = m["allowed"].(bool)
	}
	return out
}

// TestConsentWithdrawal: a withdrawal makes events collected under the
// consent invisible to reads at once, stops new ones from being stored,
// and is queued in the outbox; the receipt verifies against the published
// keys, and the ledger's chain verifies.
func TestConsentWithdrawal(t *testing.T) {
	in := start(t, t.TempDir(), collect.WriterOptions{})
	g := gardetest.NewGenerator(3)
	p := g.Person()

	// before any consent, browsing is not stored
	in.batch(gardetest.WebKey, g.Browse(p)...)
	if n := in.count(`SELECT count(*) FROM events`); n != 0 {
		t.Fatalf("%d events stored without consent", n)
	}

	ans := in.consent(g.Consent(p, "analytics", "personalisation"))
	if allowed := purposesOf(ans["state"].(map[string]any)); !allowed["analytics"] || !allowed["personalisation"] || allowed["email_marketing"] {
		t.Fatalf("state after consent: %v", allowed)
	}
	in.batch(gardetest.WebKey, g.Browse(p)...)
	if prof, _ := in.subject("anonymousId=" + p.AnonymousID); eventCount(t, prof) != 2 {
		t.Fatalf("after consent: %d events, want 2", eventCount(t, prof))
	}

	// the receipt verifies offline against /.well-known/jwks.json
	jwksAns := in.do("GET", "/.well-known/jwks.json", "", nil, nil)
	keys, err := jws.ParseJWKS(jwksAns.body)
	if err != nil {
		t.Fatalf("jwks: %v (%s)", err, jwksAns.body)
	}
	r, err := consent.VerifyReceipt(ans["receipt"].(string), keys)
	if err != nil || r.ID != ans["receiptId"] || len(r.Purposes) != 2 {
		t.Fatalf("receipt: %+v, %v", r, err)
	}
	// and through the CLI, with the JWKS fetched over HTTP
	var out bytes.Buffer
	cmd := newRoot()
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"consent", "verify", ans["receipt"].(string), "--jwks", in.base + "/.well-known/jwks.json"})
	if err := cmd.Execute(); err != nil || !strings.Contains(out.String(), "signature OK") {
		t.Fatalf("garde consent verify: %v\n%s", err, out.String())
	}
	// a receipt with one byte changed does not verify
	tok := ans["receipt"].(string)
	bad := tok[:len(tok)-3] + map[bool]string{true: "A", false: "B"}[tok[len(tok)-3] != 'A'] + tok[len(tok)-2:]
	if _, err := consent.VerifyReceipt(bad, keys); err == nil {
		t.Fatal("a tampered receipt verified")
	}

	// one call withdraws; reads stop at once, for data collected before
	w := g.Consent(p)
	w["decisions"] = map[string]any{"analytics": "withdrawn", "personalisation": "withdrawn"}
	in.consent(w)
	if prof, _ := in.subject("anonymousId=" + p.AnonymousID); eventCount(t, prof) != 0 {
		t.Fatalf("after withdrawal: %d events still readable", eventCount(t, prof))
	}
	before := in.count(`SELECT count(*) FROM events`)
	in.batch(gardetest.WebKey, g.Browse(p)...)
	if n := in.count(`SELECT count(*) FROM events`); n != before {
		t.Fatalf("after withdrawal: %d new events stored", n-before)
	}
	if n := in.count(`SELECT count(*) FROM outbox WHERE topic = ?`, consent.TopicConsentWithdrawn); n != 2 {
		t.Fatalf("outbox: %d withdrawal messages, want 2", n)
	}
	if n := in.count(`SELECT count(*) FROM violations WHERE kind = 'no_consent'`); n == 0 {
		t.Fatal("events dropped for consent are not counted")
	}
	st := in.do("GET", "/v1/consent?anonymousId="+p.AnonymousID, gardetest.WebKey, nil, nil)
	var state consent.State
	st.decode(t, &state)
	for _, ps := range state.Purposes {
		if ps.Purpose == "analytics" && (ps.Allowed || ps.Decision != consent.Withdrawn || ps.AskAfter.IsZero()) {
			t.Fatalf("analytics after withdrawal: %+v", ps)
		}
	}
	if n := in.count(`SELECT count(*) FROM audit WHERE action = 'consent.record' AND actor = 'source:web'`); n != 2 {
		t.Fatalf("audit: %d consent.record entries, want 2", n)
	}
	n, brk, err := consent.VerifyChain(context.Background(), store.NewConsent(in.m.Data))
	if err != nil || brk != nil || n != 4 {
		t.Fatalf("ledger: %d records, break %+v, %v", n, brk, err)
	}
}

// TestGPC: Sec-GPC: 1 on a collection call records an opt-out of sale and
// sharing for the person, once, with the signal as its source.
func TestGPC(t *testing.T) {
	in := start(t, t.TempDir(), collect.WriterOptions{})
	g := gardetest.NewGenerator(4)
	p := g.Person()
	in.consent(g.Consent(p, "targeted_advertising", "analytics"))
	body, _ := json.Marshal(map[string]any{"batch": g.Browse(p)})
	for range 2 {
		if a := in.do("POST", "/v1/batch", gardetest.WebKey, body, map[string]string{"Sec-GPC": "1"}); a.status != 200 {
			t.Fatalf("batch: %d %s", a.status, a.body)
		}
	}
	if n := in.count(`SELECT count(*) FROM consent_records WHERE decision = 'opted_out' AND purpose = 'targeted_advertising'`); n != 1 {
		t.Fatalf("%d GPC opt-out records, want 1", n)
	}
	var src string
	in.m.Data.Reader().QueryRow(`SELECT json_extract(body, '$.source') FROM consent_records WHERE decision = 'opted_out'`).Scan(&src)
	if src != consent.SourceSignal {
		t.Fatalf("source %q, want signal", src)
	}
	st := in.do("GET", "/v1/consent?anonymousId="+p.AnonymousID, gardetest.WebKey, nil, nil)
	if allowed := purposesOf(mustMap(t, st)); allowed["targeted_advertising"] || !allowed["analytics"] {
		t.Fatalf("after GPC: %v", allowed)
	}
	if a := in.do("GET", "/.well-known/gpc.json", "", nil, nil); a.status != 200 || !bytes.Contains(a.body, []byte(`"gpc":true`)) {
		t.Fatalf("gpc.json: %d %s", a.status, a.body)
	}
}

func mustMap(t *testing.T, a answer) map[string]any {
	t.Helper()
	var m map[string]any
	a.decode(t, &m)
	return m
}

// TestConsentBadInput: clear 4xx answers, and nothing recorded.
func TestConsentBadInput(t *testing.T) {
	in := start(t, t.TempDir(), collect.WriterOptions{})
	bearer := map[string]string{"Authorization": "Bearer " + in.admin}
	for _, tc := range []struct {
		name, key, body string
		header          map[string]string
		want            int
	}{
		{"malformed JSON", gardetest.WebKey, `{"anonymousId":`, nil, 400},
		{"unknown field", gardetest.WebKey, `{"anonymousId":"a","decisions":{"analytics":"given"},"x":1}`, nil, 400},
		{"no person", gardetest.WebKey, `{"decisions":{"analytics":"given"}}`, nil, 400},
		{"no decision", gardetest.WebKey, `{"anonymousId":"a"}`, nil, 400},
		{"unknown purpose", gardetest.WebKey, `{"anonymousId":"a","decisions":{"astrology":"given"}}`, nil, 400},
		{"unknown decision", gardetest.WebKey, `{"anonymousId":"a","decisions":{"analytics":"maybe"}}`, nil, 400},
		{"consent to a contract purpose", gardetest.WebKey, `{"anonymousId":"a","decisions":{"service":"given"}}`, nil, 400},
		{"expired is Garde's to record", gardetest.WebKey, `{"anonymousId":"a","decisions":{"analytics":"expired"}}`, nil, 400},
		{"unknown source", gardetest.WebKey, `{"anonymousId":"a","decisions":{"analytics":"given"},"source":"rumour"}`, nil, 400},
		{"write key posing as operator", gardetest.WebKey, `{"anonymousId":"a","decisions":{"analytics":"given"},"source":"operator"}`, nil, 403},
		{"write key naming a subject", gardetest.WebKey, `{"subject":"s_aaaaaaaaaaaaaaaaaaaaaaaaaa","decisions":{"analytics":"given"}}`, nil, 403},
		{"truncated TC string", gardetest.WebKey, `{"anonymousId":"a","tcString":"CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA.II"}`, nil, 400},
		{"garbage TC string", gardetest.WebKey, `{"anonymousId":"a","tcString":"!!!"}`, nil, 400},
		{"garbage GPP string", gardetest.WebKey, `{"anonymousId":"a","gppString":"DBABLA~~"}`, nil, 400},
		{"notice never shown", gardetest.WebKey, `{"anonymousId":"a","decisions":{"analytics":"given"},"notice":{"version":7,"language":"fr"}}`, nil, 400},
		{"notice text not the one shown", gardetest.WebKey, `{"anonymousId":"a","decisions":{"analytics":"given"},"notice":{"version":1,"language":"fr","hash":"00"}}`, nil, 400},
		{"implausible age", gardetest.WebKey, `{"anonymousId":"a","decisions":{"analytics":"given"},"age":{"status":"adult","years":400}}`, nil, 400},
		{"minor alone", gardetest.WebKey, `{"anonymousId":"a","decisions":{"analytics":"given"},"country":"FR","age":{"status":"minor","years":13}}`, nil, 403},
		{"targeted ads for a minor", gardetest.WebKey, `{"anonymousId":"a","decisions":{"targeted_advertising":"given"},"country":"FR","age":{"status":"minor","years":17}}`, nil, 403},
		{"unknown write key", "nope-nope-nope", `{"anonymousId":"a","decisions":{"analytics":"given"}}`, nil, 401},
		{"operator, unknown subject", "", `{"subject":"s_aaaaaaaaaaaaaaaaaaaaaaaaaa","decisions":{"analytics":"given"}}`, bearer, 404},
		{"operator, unknown person", "", `{"userId":"nobody","decisions":{"analytics":"given"}}`, bearer, 404},
		{"operator, bad subject id", "", `{"subject":"x","decisions":{"analytics":"given"}}`, bearer, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := in.do("POST", "/v1/consent", tc.key, []byte(tc.body), tc.header)
			if a.status != tc.want {
				t.Fatalf("got %d %s, want %d", a.status, a.body, tc.want)
			}
			a.errorCode(t)
		})
	}
	if n := in.count(`SELECT count(*) FROM consent_records`); n != 0 {
		t.Fatalf("bad input recorded %d records", n)
	}
	if n := in.count(`SELECT count(*) FROM subjects`); n != 0 {
		t.Fatalf("bad input created %d subjects", n)
	}
}

// TestConsentCheck: many subjects at once, for operators only; unknown
// people are answered like people without consent.
func TestConsentCheck(t *testing.T) {
	in := start(t, t.TempDir(), collect.WriterOptions{})
	g := gardetest.NewGenerator(5)
	a, b := g.Person(), g.Person()
	in.consent(g.Consent(a, "analytics", "email_marketing"))
	in.consent(g.Consent(b, "analytics"))
	body := []byte(`{"purposes":["analytics","email_marketing","service"],"subjects":[{"anonymousId":"` + a.AnonymousID + `"},{"anonymousId":"` + b.AnonymousID + `"},{"userId":"nobody"}]}`)
	if r := in.do("POST", "/v1/consent/check", gardetest.WebKey, body, nil); r.status != http.StatusUnauthorized {
		t.Fatalf("check with a write key: %d", r.status)
	}
	r := in.do("POST", "/v1/consent/check", "", body, map[string]string{"Authorization": "Bearer " + in.admin})
	var got consent.CheckAnswer
	r.decode(t, &got)
	want := []string{"service,analytics,email_marketing", "service,analytics", ""}
	for i, res := range got.Results {
		if strings.Join(res.Allowed, ",") != want[i] {
			t.Errorf("subject %d: %v, want %s", i, res.Allowed, want[i])
		}
	}
	if got.Results[2].Known {
		t.Error("an unknown person is known")
	}
}

// TestLedgerTamper: editing, deleting or moving a record makes
// verify-ledger fail at that record.
func TestLedgerTamper(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sql    string
		first  int64
		reason string
	}{
		{"edit a decision", `UPDATE consent_records SET body = replace(body, '"refused"', '"given"') WHERE seq = 4`, 4, "edited"},
		{"edit the time", `UPDATE consent_records SET body = replace(body, '"time":"2', '"time":"1') WHERE seq = 2`, 2, "edited"},
		{"delete a record", `DELETE FROM consent_records WHERE seq = 2`, 3, "sequence gap"},
		{"delete and renumber", `DELETE FROM consent_records WHERE seq = 2; UPDATE consent_records SET seq = seq - 1 WHERE seq > 2`, 2, "previous hash"},
		{"reorder two records", `UPDATE consent_records SET seq = 100 WHERE seq = 2; UPDATE consent_records SET seq = 2 WHERE seq = 3; UPDATE consent_records SET seq = 3 WHERE seq = 100`, 2, "previous hash"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			in := start(t, dir, collect.WriterOptions{})
			g := gardetest.NewGenerator(6)
			p := g.Person()
			in.consent(g.Consent(p, "analytics"))
			c := g.Consent(p)
			c["decisions"] = map[string]any{"personalisation": "refused"}
			in.consent(c)
			in.consent(map[string]any{"anonymousId": "other", "decisions": map[string]any{"email_marketing": "refused", "analytics": "given"}})
			in.close()

			run := func() (string, error) {
				var out bytes.Buffer
				cmd := newRoot()
				cmd.SetOut(&out)
				cmd.SetArgs([]string{"consent", "verify-ledger", "--data", dir})
				err := cmd.Execute()
				return out.String(), err
			}
			if out, err := run(); err != nil || !strings.Contains(out, "4 records: OK") {
				t.Fatalf("before tampering: %v %s", err, out)
			}
			db, err := store.OpenSQLite(context.Background(), dir+"/"+dataFile, "data")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Writer().Exec(tc.sql); err != nil {
				t.Fatal(err)
			}
			db.Close()
			out, err := run()
			if err == nil || !strings.Contains(out, "first bad record: seq "+itoa(tc.first)) || !strings.Contains(out, tc.reason) {
				t.Fatalf("after tampering: %v\n%s", err, out)
			}
		})
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestReceiptKeyRotation: after `garde keys rotate-signing`, new receipts
// carry the new key and the old ones still verify against the published
// key set.
func TestReceiptKeyRotation(t *testing.T) {
	dir := t.TempDir()
	in := start(t, dir, collect.WriterOptions{})
	g := gardetest.NewGenerator(8)
	before := in.consent(g.Consent(g.Person(), "analytics"))["receipt"].(string)
	in.close()

	var out bytes.Buffer
	cmd := newRoot()
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"keys", "rotate-signing", "--use", "receipts", "--data", dir})
	if err := cmd.Execute(); err != nil || !strings.Contains(out.String(), "still verifies") {
		t.Fatalf("rotate-signing: %v %s", err, out.String())
	}

	in = start(t, dir, collect.WriterOptions{})
	after := in.consent(g.Consent(g.Person(), "analytics"))["receipt"].(string)
	keys, err := jws.ParseJWKS(in.do("GET", "/.well-known/jwks.json", "", nil, nil).body)
	if err != nil || len(keys.Keys) != 3 { // two receipt keys and the certificates key
		t.Fatalf("jwks after rotation: %+v %v", keys, err)
	}
	for _, tok := range []string{before, after} {
		if _, err := consent.VerifyReceipt(tok, keys); err != nil {
			t.Fatalf("receipt does not verify after rotation: %v", err)
		}
	}
	_, h1, _ := jws.Verify(before, keys)
	_, h2, _ := jws.Verify(after, keys)
	if h1.Kid == h2.Kid {
		t.Fatal("the new receipt is signed with the old key")
	}
}
