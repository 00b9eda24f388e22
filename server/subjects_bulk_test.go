package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/profile"
)

func TestDecodeReadRequest(t *testing.T) {
	a, b := garde.NewSubjectID(), garde.NewSubjectID()
	var many []string
	for range profile.MaxMany {
		many = append(many, `"`+string(garde.NewSubjectID())+`"`)
	}
	for _, tc := range []struct {
		name, body string
		want       []garde.SubjectID
		code, msg  string
	}{
		{name: "ids", body: `{"ids":["` + string(a) + `","` + string(b) + `"]}`, want: []garde.SubjectID{a, b}},
		{name: "repeats dropped, order kept", body: `{"ids":["` + string(b) + `","` + string(a) + `","` + string(b) + `"]}`, want: []garde.SubjectID{b, a}},
		{name: "spaces around", body: " \n{ \"ids\" : [ \"" + string(a) + "\" ] }\n", want: []garde.SubjectID{a}},
		{name: "as many as allowed", body: `{"ids":[` + strings.Join(many, ",") + `]}`},
		{name: "one too many", body: `{"ids":[` + strings.Join(many, ",") + `,"` + string(a) + `"]}`, code: garde.EInvalid, msg: "at most 1000"},
		{name: "empty", body: ``, code: garde.EInvalid, msg: "body is not"},
		{name: "no ids", body: `{}`, code: garde.EInvalid, msg: "give 1 to 1000"},
		{name: "null ids", body: `{"ids":null}`, code: garde.EInvalid, msg: "give 1 to 1000"},
		{name: "null id", body: `{"ids":[null]}`, code: garde.EInvalid, msg: "ids[0] is not a subject id"},
		{name: "malformed id", body: `{"ids":["` + string(a) + `","S_` + string(a[2:]) + `"]}`, code: garde.EInvalid, msg: "ids[1] is not a subject id"},
		{name: "number", body: `{"ids":[1]}`, code: garde.EInvalid, msg: "body is not"},
		{name: "unknown field", body: `{"ids":["` + string(a) + `"],"email":"x@example.com"}`, code: garde.EInvalid, msg: "body is not"},
		{name: "trailing object", body: `{"ids":["` + string(a) + `"]}{}`, code: garde.EInvalid, msg: "trailing data"},
		{name: "trailing garbage", body: `{"ids":["` + string(a) + `"]}]`, code: garde.EInvalid, msg: "trailing data"},
		{name: "too large", body: `{"ids":["` + strings.Repeat("a", maxReadBody) + `"]}`, code: garde.ETooLarge, msg: "over 64 KB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeReadRequest(strings.NewReader(tc.body))
			if tc.code != "" {
				if garde.ErrorCode(err) != tc.code || !strings.Contains(garde.ErrorMessage(err), tc.msg) {
					t.Fatalf("got %v, want %s %q", err, tc.code, tc.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				tc.want = got[:0:0]
				for _, s := range many {
					tc.want = append(tc.want, garde.SubjectID(strings.Trim(s, `"`)))
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzDecodeReadRequest: any body either decodes to 1 to 1,000 distinct,
// well-formed subject ids, all of them named in the body, or is refused
// with a 4xx code whose message never echoes the body.
func FuzzDecodeReadRequest(f *testing.F) {
	a := garde.NewSubjectID()
	for _, s := range []string{`{"ids":["` + string(a) + `"]}`, `{"ids":[]}`, `{"ids":[null,1,"x"]}`, `{"ids":"` + string(a) + `"}`,
		`{"ids":["` + string(a) + `","` + string(a) + `"]} `, `[]`, `null`, `{"ids":["s_aaaaaaaaaaaaaaaaaaaaaaaaaa"]}{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ids, err := decodeReadRequest(bytes.NewReader(body))
		if err != nil {
			if code := garde.ErrorCode(err); code != garde.EInvalid && code != garde.ETooLarge {
				t.Fatalf("code %s for %q", code, body)
			}
			if msg := garde.ErrorMessage(err); len(body) > 8 && strings.Contains(msg, string(body)) {
				t.Fatalf("the message echoes the body: %s", msg)
			}
			return
		}
		if len(ids) == 0 || len(ids) > profile.MaxMany {
			t.Fatalf("%d ids from %q", len(ids), body)
		}
		seen := map[garde.SubjectID]bool{}
		for _, id := range ids {
			if !id.Valid() || seen[id] {
				t.Fatalf("id %q (valid %v, repeated %v) from %q", id, id.Valid(), seen[id], body)
			}
			seen[id] = true
		}
		// the ids are those of the body, in order
		var req struct{ IDs []string }
		if err := json.Unmarshal(body, &req); err != nil {
			t.Fatalf("accepted %q, which encoding/json refuses: %v", body, err)
		}
		var want []garde.SubjectID
		for _, s := range req.IDs {
			if !slices.Contains(want, garde.SubjectID(s)) {
				want = append(want, garde.SubjectID(s))
			}
		}
		if fmt.Sprint(want) != fmt.Sprint(ids) {
			t.Fatalf("got %v, want %v", ids, want)
		}
	})
}
