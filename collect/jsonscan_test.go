package collect

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/gardetest"
)

const (
	msgUTF8  = "body is not valid UTF-8"
	msgJSON  = "body is not valid JSON"
	msgDepth = "JSON is nested deeper than 4 levels"
)

// TestCheckJSON: what checkJSON accepts and the message of what it refuses,
// at a maximum depth of 4.
func TestCheckJSON(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string // want "" means valid
	}{
		{"segment track", `{"type":"track","event":"Order Completed","userId":"u1","properties":{"email":"a@b.c","total":12.5,"items":[{"sku":"x"}]},"context":{"ip":"1.2.3.4","page":{"url":"https://x"}}}`, ""},
		{"white space everywhere", " \t\r\n{ \"a\" \n:\t[ 1 , { } ,[ ] , \"x\" ] ,\r\n\"b\" : null } \n", ""},
		{"scalars at top", `"x"`, ""},
		{"true", `true`, ""},
		{"false", ` false `, ""},
		{"null", `null`, ""},
		{"empty object", `{}`, ""},
		{"empty array", `[]`, ""},
		{"empty string", `""`, ""},
		{"escapes", `"\" \\ \/ \b \f \n \r \t \u00e9 \u00E9 \uD83D\uDE00 \u0000"`, ""},
		{"lone surrogate escape", `"\ud800 \udc00 \uDBFF"`, ""},
		{"unicode", `{"nom":"Chloé Lefèvre","emoji":"😀","cjk":"漢字","rtl":"עברית"}`, ""},
		{"encoded U+FFFD", "\"\xef\xbf\xbd\"", ""},
		{"DEL is not a control character", "\"\x7f\"", ""},
		{"long ASCII string", `"` + strings.Repeat("abcdefgh", 100) + `"`, ""},
		{"numbers", `[0,-0,1,-1,12.5,-12.5,0.0,1e3,1E3,1e+3,1e-3,1.5e10,-0.5E-10,123456789012345678901234567890,0e0]`, ""},
		{"depth 4 passes", `[[[[1]]]]`, ""},
		{"depth 4 of objects passes", `{"a":{"b":{"c":{"d":1}}}}`, ""},
		{"depth 4 with empty inner", `[[[[]]]]`, ""},
		{"siblings do not add depth", `[[[[]],[[]]],[[[]]]]`, ""},

		{"empty input", ``, msgJSON},
		{"only white space", " \t\r\n", msgJSON},
		{"two values", `{} {}`, msgJSON},
		{"two numbers", `1 2`, msgJSON},
		{"truncated object", `{"a":1`, msgJSON},
		{"truncated after comma", `{"a":1,`, msgJSON},
		{"truncated key", `{"a`, msgJSON},
		{"truncated string", `"abc`, msgJSON},
		{"truncated escape", `"abc\`, msgJSON},
		{"truncated unicode escape", `"\u12`, msgJSON},
		{"truncated literal", `tru`, msgJSON},
		{"truncated array", `[1,2`, msgJSON},
		{"trailing garbage", `{"a":1}x`, msgJSON},
		{"trailing comma in object", `{"a":1,}`, msgJSON},
		{"trailing comma in array", `[1,]`, msgJSON},
		{"leading comma", `[,1]`, msgJSON},
		{"missing colon", `{"a" 1}`, msgJSON},
		{"missing value", `{"a":}`, msgJSON},
		{"unquoted key", `{a:1}`, msgJSON},
		{"number key", `{1:1}`, msgJSON},
		{"mismatched close", `[1}`, msgJSON},
		{"mismatched close object", `{"a":1]`, msgJSON},
		{"stray close", `]`, msgJSON},
		{"single quotes", `'a'`, msgJSON},
		{"leading zero", `01`, msgJSON},
		{"leading zeros negative", `-01`, msgJSON},
		{"leading plus", `+1`, msgJSON},
		{"bare minus", `-`, msgJSON},
		{"dot without digits", `1.`, msgJSON},
		{"dot first", `.5`, msgJSON},
		{"exponent without digits", `1e`, msgJSON},
		{"exponent sign only", `1e+`, msgJSON},
		{"hex number", `0x10`, msgJSON},
		{"NaN", `NaN`, msgJSON},
		{"Infinity", `-Infinity`, msgJSON},
		{"literal with suffix", `truex`, msgJSON},
		{"capital literal", `True`, msgJSON},
		{"bad escape", `"\x41"`, msgJSON},
		{"escaped single quote", `"\'"`, msgJSON},
		{"bad unicode escape", `"\u12G4"`, msgJSON},
		{"upper U escape", `"\U0041"`, msgJSON},
		{"control char in string", "\"a\x01b\"", msgJSON},
		{"raw newline in string", "\"a\nb\"", msgJSON},
		{"raw tab in string", "\"a\tb\"", msgJSON},
		{"NUL in string", "\"a\x00b\"", msgJSON},
		{"NUL outside", "{}\x00", msgJSON},
		{"form feed is not white space", "\f{}", msgJSON},
		{"non-breaking space is not white space", "\u00a0{}", msgJSON},
		{"BOM", "\ufeff{}", msgJSON},
		{"comment", `{} // x`, msgJSON},

		{"invalid UTF-8 in a string", "{\"a\":\"caf\xe9\"}", msgUTF8},
		{"invalid UTF-8 in a key", "{\"\xff\":1}", msgUTF8},
		{"truncated sequence in a string", "\"\xe2\x82\"", msgUTF8},
		{"overlong encoding in a string", "\"\xc0\xaf\"", msgUTF8},
		{"encoded surrogate in a string", "\"\xed\xa0\x80\"", msgUTF8},
		{"lone high byte", "\xff", msgUTF8},
		{"high byte outside strings", "[1,\x80]", msgUTF8},
		{"invalid UTF-8 after the value", "{}\xc3", msgUTF8},
		{"invalid UTF-8 wins over a syntax error before it", "{,\"\xff\"}", msgUTF8},
		{"invalid UTF-8 wins over depth", "[[[[[\"\xff\"]]]]]", msgUTF8},
		{"valid UTF-8 outside strings", "[1,é]", msgJSON},

		{"depth 5 fails", `[[[[[1]]]]]`, msgDepth},
		{"depth 5 of objects fails", `{"a":{"b":{"c":{"d":{}}}}}`, msgDepth},
		{"depth 5 empty fails", `[[[[[]]]]]`, msgDepth},
		{"depth 5 truncated fails on depth", `[[[[[`, msgDepth},
		{"depth after siblings", `[[],[[],[[[{}]]]]]`, msgDepth},
		{"brackets in strings do not count", `[[[["[[[[{{{{"]]]]`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkJSON([]byte(tc.in), 4)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				if !json.Valid([]byte(tc.in)) {
					t.Fatal("json.Valid refuses a case that claims to be valid")
				}
				return
			}
			if got := garde.ErrorMessage(err); got != tc.want || garde.ErrorCode(err) != garde.EInvalid {
				t.Fatalf("got %v, want %s: %s", err, garde.EInvalid, tc.want)
			}
		})
	}
}

// TestCheckJSONDepth: the limit holds at MaxDepth, whatever the containers.
func TestCheckJSONDepth(t *testing.T) {
	for _, open := range []string{`[`, `{"k":`} {
		closer := map[string]string{`[`: `]`, `{"k":`: `}`}[open]
		for _, depth := range []int{MaxDepth - 1, MaxDepth, MaxDepth + 1, 40, 200} {
			doc := strings.Repeat(open, depth) + `0` + strings.Repeat(closer, depth)
			err := checkJSON([]byte(doc), MaxDepth)
			if want := depth <= MaxDepth; (err == nil) != want {
				t.Errorf("%s × %d: got %v, want valid %v", open, depth, err, want)
			}
		}
	}
}

// TestCheckJSONNoAllocs: validating a typical body allocates nothing.
func TestCheckJSONNoAllocs(t *testing.T) {
	for _, body := range [][]byte{scanBatchBody(100), []byte(scanSeeds[3]), []byte(`[true,false,null,"\u00e9\n",-1.5e3]`)} {
		if n := testing.AllocsPerRun(10, func() {
			if err := checkJSON(body, MaxDepth); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Fatalf("%.40s…: got %v allocations, want 0", body, n)
		}
	}
}

// TestCheckJSONHidesInput: no byte of a refused body reaches the error.
func TestCheckJSONHidesInput(t *testing.T) {
	for _, in := range []string{`{"email":"jean@example.com",}`, "{\"email\":\"jean\xff@example.com\"}", `[[[[[[[[[[[[[[[[[["jean@example.com"`} {
		err := checkJSON([]byte(in), MaxDepth)
		if err == nil || strings.Contains(err.Error(), "jean") {
			t.Errorf("got %v for a refused body", err)
		}
	}
}

// TestScanObjectIter: members in order, keys still escaped, values trimmed.
func TestScanObjectIter(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string // key, value, key, value …
	}{
		{"empty", `{}`, nil},
		{"empty with white space", "{ \n\t}", nil},
		{"one", `{"a":1}`, []string{`a`, `1`}},
		{"white space everywhere", "{ \"a\" \n: \"x\" ,\r\n\t\"b\":[ 1 , 2 ] , \"c\" : { \"d\" : null } }", []string{`a`, `"x"`, `b`, `[ 1 , 2 ]`, `c`, `{ "d" : null }`}},
		{"escaped keys", `{"a\"b":1,"\u00e9":2,"\\":3,"x\/y":4}`, []string{`a\"b`, `1`, `\u00e9`, `2`, `\\`, `3`, `x\/y`, `4`}},
		{"brackets and quotes in strings", `{"a":"}]","b":["\"]",{"c":"{"}],"d":"\\"}`, []string{`a`, `"}]"`, `b`, `["\"]",{"c":"{"}]`, `d`, `"\\"`}},
		{"every kind of value", `{"s":"x","n":-1.5e3,"t":true,"f":false,"z":null,"o":{},"a":[]}`, []string{`s`, `"x"`, `n`, `-1.5e3`, `t`, `true`, `f`, `false`, `z`, `null`, `o`, `{}`, `a`, `[]`}},
		{"duplicate keys", `{"a":1,"a":2}`, []string{`a`, `1`, `a`, `2`}},
		{"empty key", `{"":""}`, []string{``, `""`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := checkJSON([]byte(tc.in), MaxDepth); err != nil {
				t.Fatalf("test input: %v", err)
			}
			var got []string
			it := newObjectIter([]byte(tc.in))
			for k, v, ok := it.next(); ok; k, v, ok = it.next() {
				got = append(got, string(k), string(v))
			}
			if _, _, ok := it.next(); ok {
				t.Error("next after the end returned a member")
			}
			var zero objectIter
			if _, _, ok := zero.next(); ok {
				t.Error("the zero objectIter returned a member")
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestScanArrayIter: elements in order, values trimmed.
func TestScanArrayIter(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"empty", `[]`, nil},
		{"empty with white space", "[ \r\n ]", nil},
		{"scalars", `[1,"a",true,false,null,-0.5]`, []string{`1`, `"a"`, `true`, `false`, `null`, `-0.5`}},
		{"white space everywhere", "[ 1 ,\n\"a b\"\t, { \"k\" : [ ] } ,[ {} ] ]", []string{`1`, `"a b"`, `{ "k" : [ ] }`, `[ {} ]`}},
		{"brackets in strings", `["]",["[\"",{"a":"]"}]]`, []string{`"]"`, `["[\"",{"a":"]"}]`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := checkJSON([]byte(tc.in), MaxDepth); err != nil {
				t.Fatalf("test input: %v", err)
			}
			var got []string
			it := newArrayIter([]byte(tc.in))
			for e, ok := it.next(); ok; e, ok = it.next() {
				got = append(got, string(e))
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			var zero arrayIter
			if _, ok := zero.next(); ok {
				t.Error("the zero arrayIter returned an element")
			}
		})
	}
}

// TestScanSkipValue: the index just past each kind of value.
func TestScanSkipValue(t *testing.T) {
	for _, v := range []string{`""`, `"a\"b"`, `"\\"`, `"\\\""`, `"é"`, `0`, `-12.5e+3`, `true`, `false`, `null`, `{}`, `[]`, `{"a":["}",{"b":"\\"}]}`, "[ 1 , [ 2 ] ]"} {
		for _, after := range []string{``, `,1`, `}`, `]`, " \n"} {
			if got := skipValue([]byte(v+after), 0); got != len(v) {
				t.Errorf("%s followed by %q: got %d, want %d", v, after, got, len(v))
			}
		}
	}
	if got := skipSpace([]byte(" \t\r\n x"), 0); got != 5 {
		t.Errorf("skipSpace: got %d, want 5", got)
	}
}

// TestScanUnquote: as encoding/json decodes strings, surrogates included.
func TestScanUnquote(t *testing.T) {
	for _, in := range []string{
		`""`, `"plain"`, `"Chloé 😀"`, `"\" \\ \/ \b \f \n \r \t"`, `"\u00e9\u00E9\u0041\u0000"`,
		`"\uD83D\uDE00"`, `"x\ud83d\ude00y"`, `"\ud800"`, `"\udc00"`, `"\ud800x"`, `"\ud800\u0041"`,
		`"\ud800\ud800\udc00"`, `"\udc00\ud800"`, `"\ud800\\u0041"`, `"\ud800\n"`, `"a\\"`, `"\\\\\\"`, `"\u2028\u2029"`,
		`"\uFFFD\uFFFF"`, `"\uDBFF\uDFFF"`,
	} {
		if err := checkJSON([]byte(in), MaxDepth); err != nil {
			t.Fatalf("test input %s: %v", in, err)
		}
		var want string
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatal(err)
		}
		if got := unquote([]byte(in)); got != want {
			t.Errorf("%s: got %+q, want %+q", in, got, want)
		}
		if got := keyString([]byte(in[1 : len(in)-1])); got != want {
			t.Errorf("keyString %s: got %+q, want %+q", in, got, want)
		}
		if !keyIs([]byte(in[1:len(in)-1]), want) || keyIs([]byte(in[1:len(in)-1]), want+"x") {
			t.Errorf("keyIs %s is wrong", in)
		}
	}
}

// TestScanKeyIsNoAllocs: matching a key without escapes allocates nothing.
func TestScanKeyIsNoAllocs(t *testing.T) {
	key := []byte("properties")
	if n := testing.AllocsPerRun(100, func() {
		if !keyIs(key, "properties") || keyIs(key, "context") {
			t.Fatal("wrong answer")
		}
	}); n != 0 {
		t.Fatalf("got %v allocations, want 0", n)
	}
	if !keyIs([]byte(`\u0074ype`), "type") || keyIs([]byte(`a\\b`), `a\\b`) {
		t.Fatal("keyIs with escapes is wrong")
	}
}

// scanSeeds are realistic Segment messages and edge cases for both fuzz
// targets.
var scanSeeds = []string{
	`{"type":"track","event":"Order Completed","userId":"u1","properties":{"email":"a@b.c","total":12.5,"items":[{"sku":"x"}]},"context":{"ip":"1.2.3.4","page":{"url":"https://x"}}}`,
	`{"type":"identify","anonymousId":"a1","userId":"u1","traits":{"email":"A@Example.com ","phone":"06 12 34 56 78","first_name":"Chloé","plan":"gold","age":41}}`,
	`{"batch":[{"type":"page","name":"Produit","properties":{"title":"Lampe \u2014 Maison"}},{"type":"track","event":"Product Viewed"}],"writeKey":"k","sentAt":"2026-11-28T10:00:05Z","context":{"locale":"fr-FR"}}`,
	"{ \"type\" : \"track\" ,\n\t\"properties\" : { \"a\" : [ 1 , -0.5e-3 , true , null ] } }\n",
	`{"a\"b":"\\","\u00e9":"\ud83d\ude00","\ud800":"\udc00x","":{},"x":[]}`,
	`{"a":1,"a":2}`, `[{"a":[{"b":"]}"}]}]`, `"str"`, `-0`, `1e400`, `{}`, `[]`,
	`[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]`, `[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]`,
	`{"a":1,}`, `[01]`, "\"\xff\"", "\xef\xbb\xbf{}", `{"a":"\u00"}`, "\"a\x1fb\"", `{"a" 1}`, `[`, ``,
	`{"a`, `{"`, `["`, `[,,]`, `{"a":}`, `"\`, `{"a":1 "b":2}`, `{"a":"b\"}`,
}

// scanRefDepth is the maximum nesting of brackets outside strings in data:
// the simplest reference for checkJSON's depth, meaningful for valid JSON.
func scanRefDepth(data []byte) int {
	depth, deepest := 0, 0
	inString, escaped := false, false
	for _, c := range data {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}

// FuzzCheckJSON: checkJSON accepts exactly what json.Valid accepts, minus
// invalid UTF-8 and nesting deeper than the limit, and its message matches
// the fault.
func FuzzCheckJSON(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 16
		err := checkJSON(data, limit)
		valid, isUTF8, depth := json.Valid(data), utf8.Valid(data), scanRefDepth(data)
		if want := valid && isUTF8 && depth <= limit; (err == nil) != want {
			t.Fatalf("%q: got %v, want valid %v (json.Valid %v, UTF-8 %v, depth %d)", data, err, want, valid, isUTF8, depth)
		}
		if err == nil {
			// isCompact, which reads only what checkJSON accepted, agrees
			// with encoding/json's Compact
			v := bytes.Trim(data, " \t\r\n")
			var c bytes.Buffer
			if err := json.Compact(&c, v); err != nil {
				t.Fatal(err)
			}
			if got, want := isCompact(v), bytes.Equal(c.Bytes(), v); got != want {
				t.Fatalf("isCompact(%q) = %v, want %v", v, got, want)
			}
			return
		}
		var e *garde.Error
		if !errors.As(err, &e) || e.Code != garde.EInvalid {
			t.Fatalf("%q: got %#v, want a garde error of code %s", data, err, garde.EInvalid)
		}
		switch e.Message {
		case msgUTF8:
			if isUTF8 {
				t.Fatalf("%q: UTF-8 error for valid UTF-8", data)
			}
		case "JSON is nested deeper than 16 levels":
			if !isUTF8 || depth <= limit {
				t.Fatalf("%q: depth error at depth %d (UTF-8 %v)", data, depth, isUTF8)
			}
		case msgJSON:
			if !isUTF8 {
				t.Fatalf("%q: JSON error for invalid UTF-8", data)
			}
		default:
			t.Fatalf("%q: unexpected message %q", data, e.Message)
		}
	})
}

// FuzzScanObject: on input checkJSON accepts, the iterators, skipValue and
// unquote agree with encoding/json at every level; on any other input they
// neither panic nor loop.
func FuzzScanObject(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		i := skipSpace(data, 0)
		if checkJSON(data, 16) != nil {
			scanLoosely(t, data, i)
			return
		}
		end := skipValue(data, i)
		if skipSpace(data, end) != len(data) {
			t.Fatalf("%q: skipValue ends at %d, white space does not follow", data, end)
		}
		scanCompare(t, nil, data[i:end])
		// the same walks through the index scanJSON records
		var ix jsonIndex
		if err := scanJSON(data, 16, &ix); err != nil {
			t.Fatalf("%q: checkJSON accepts, scanJSON says %v", data, err)
		}
		if n := containers(data[i:end]); len(ix.spans) != n {
			t.Fatalf("%q: %d spans indexed, want %d", data, len(ix.spans), n)
		}
		for _, sp := range ix.spans {
			if int(sp.end) != skipValue(data, int(sp.start)) {
				t.Fatalf("%q: span %+v, skipValue ends at %d", data, sp, skipValue(data, int(sp.start)))
			}
		}
		scanCompare(t, &ix, data[i:end])
	})
}

// containers counts the non-empty objects and arrays of a trusted value.
func containers(raw []byte) (n int) {
	eachValue(raw, func(v []byte) {
		if (v[0] == '{' || v[0] == '[') && skipSpace(v, 1) != len(v)-1 {
			n++
		}
	})
	return n
}

// eachValue calls fn with a trusted value and every value inside it, in
// order, through the iterators.
func eachValue(raw []byte, fn func(v []byte)) {
	fn(raw)
	switch raw[0] {
	case '{':
		it := newObjectIter(raw)
		for _, v, ok := it.next(); ok; _, v, ok = it.next() {
			eachValue(v, fn)
		}
	case '[':
		it := newArrayIter(raw)
		for e, ok := it.next(); ok; e, ok = it.next() {
			eachValue(e, fn)
		}
	}
}

// scanCompare checks one trusted value against encoding/json, recursively,
// walking it through ix (may be nil).
func scanCompare(t *testing.T, ix *jsonIndex, raw []byte) {
	t.Helper()
	if ix.skip(raw, 0) != len(raw) {
		t.Fatalf("%q: skip ends at %d, want %d", raw, ix.skip(raw, 0), len(raw))
	}
	switch raw[0] {
	case '"':
		var want string
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatal(err)
		}
		if got := unquote(raw); got != want {
			t.Fatalf("unquote %q: got %+q, want %+q", raw, got, want)
		}
	case '{':
		keys, values := scanReference(t, raw)
		it := ix.members(raw)
		for n := 0; ; n++ {
			k, v, ok := it.next()
			if !ok {
				if n != len(keys) {
					t.Fatalf("%q: got %d members, want %d", raw, n, len(keys))
				}
				return
			}
			if n >= len(keys) {
				t.Fatalf("%q: got more than %d members", raw, len(keys))
			}
			if got := keyString(k); got != keys[n] || !keyIs(k, keys[n]) {
				t.Fatalf("%q: key %d: got %+q, want %+q", raw, n, got, keys[n])
			}
			if !bytes.Equal(v, values[n]) {
				t.Fatalf("%q: value %d: got %q, want %q", raw, n, v, values[n])
			}
			scanCompare(t, ix, v)
		}
	case '[':
		_, values := scanReference(t, raw)
		it := newArrayIter(raw)
		it.ix = ix
		for n := 0; ; n++ {
			e, ok := it.next()
			if !ok {
				if n != len(values) {
					t.Fatalf("%q: got %d elements, want %d", raw, n, len(values))
				}
				return
			}
			if n >= len(values) || !bytes.Equal(e, values[n]) {
				t.Fatalf("%q: element %d: got %q, want %v", raw, n, e, values)
			}
			scanCompare(t, ix, e)
		}
	}
}

// scanReference splits an object or an array with encoding/json's Token
// API: its keys (decoded, in order; none for an array) and raw values.
func scanReference(t *testing.T, raw []byte) (keys []string, values [][]byte) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // the opening delimiter
		t.Fatal(err)
	}
	for dec.More() {
		if raw[0] == '{' {
			tok, err := dec.Token()
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, tok.(string))
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		values = append(values, v)
	}
	if _, err := dec.Token(); err != nil { // the closing delimiter
		t.Fatal(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("%q: more after the value: %v", raw, err)
	}
	return keys, values
}

// scanLoosely runs the trusted-input functions on untrusted input: any
// result will do, but no panic and no endless loop (each next call must
// consume at least one byte).
func scanLoosely(t *testing.T, data []byte, i int) {
	skipValue(data, i)
	unquote(data[i:])
	if i >= len(data) {
		return
	}
	switch data[i] {
	case '{':
		it := newObjectIter(data[i:])
		for n := 0; ; n++ {
			k, v, ok := it.next()
			if !ok {
				return
			}
			if n > len(data) {
				t.Fatalf("%q: the object iterator does not end", data)
			}
			keyString(k)
			unquote(v)
		}
	case '[':
		it := newArrayIter(data[i:])
		for n := 0; ; n++ {
			e, ok := it.next()
			if !ok {
				return
			}
			if n > len(data) {
				t.Fatalf("%q: the array iterator does not end", data)
			}
			unquote(e)
		}
	}
}

// scanBatchBody is a /v1/batch body of n "Order Completed" events, about
// 750 bytes each, as encoding/json writes them.
func scanBatchBody(n int) []byte {
	g := gardetest.NewGenerator(1)
	events := make([]map[string]any, n)
	for i := range events {
		events[i] = g.Order(g.Person())
	}
	body, err := json.Marshal(map[string]any{"batch": events, "writeKey": gardetest.WebKey, "sentAt": "2026-11-28T10:00:05Z"})
	if err != nil {
		panic(err)
	}
	return body
}

// BenchmarkCheckJSON validates a 100-event batch body (~75 KB); the
// reference is what checkJSON replaces: json.Valid and utf8.Valid.
func BenchmarkCheckJSON(b *testing.B) {
	body := scanBatchBody(100)
	b.Run("checkJSON", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if err := checkJSON(body, MaxDepth); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Valid+utf8.Valid", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if !json.Valid(body) || !utf8.Valid(body) {
				b.Fatal("invalid")
			}
		}
	})
}

// BenchmarkObjectIter walks the same batch body as trusted input: the
// batch array, then every member of every event down to the leaves, and
// decodes the event's top-level strings (type, event, userId …) as the
// decoder would.
func BenchmarkObjectIter(b *testing.B) {
	body := scanBatchBody(100)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	walk := func(raw []byte) (n int) {
		eachValue(raw, func([]byte) { n++ })
		return n
	}
	for b.Loop() {
		n := 0
		top := newObjectIter(body)
		for k, v, ok := top.next(); ok; k, v, ok = top.next() {
			if !keyIs(k, "batch") {
				continue
			}
			events := newArrayIter(v)
			for ev, ok := events.next(); ok; ev, ok = events.next() {
				it := newObjectIter(ev)
				for _, v, ok := it.next(); ok; _, v, ok = it.next() {
					if v[0] == '"' {
						n += len(unquote(v))
					}
					n += walk(v)
				}
			}
		}
		if n == 0 {
			b.Fatal("walked nothing")
		}
	}
}

// TestJSONIndex: the index answers for the containers of its own body,
// wherever a walk cuts it; a copy, a refused body or a nil index fall back
// to scanning.
func TestJSONIndex(t *testing.T) {
	body := []byte(`{"batch": [ {"a":{"b":[1,2]},"c":"}"} , {"d":{}} ], "e":[]}`)
	var ix jsonIndex
	if err := scanJSON(body, MaxDepth, &ix); err != nil {
		t.Fatal(err)
	}
	if len(ix.spans) != 6 { // the body, batch, two messages, a, b (not the empty ones)
		t.Fatalf("%d spans: %+v", len(ix.spans), ix.spans)
	}
	at := bytes.Index(body, []byte(`{"a"`))
	msg := body[at:]
	if got, want := ix.skip(msg, 0), len(`{"a":{"b":[1,2]},"c":"}"}`); got != want {
		t.Fatalf("skip of the first message: %d, want %d", got, want)
	}
	if got := ix.skip(append([]byte(nil), msg...), 0); got != len(`{"a":{"b":[1,2]},"c":"}"}`) {
		t.Fatalf("skip of a copy: %d", got)
	}
	if got := ix.skip(msg[:10], 0); got != skipValue(msg[:10], 0) {
		t.Fatalf("skip past the end of a cut slice: %d", got)
	}
	if err := scanJSON([]byte(`{"a":[1,`), MaxDepth, &ix); err == nil || len(ix.spans) != 0 || ix.body != nil {
		t.Fatalf("refused body: %v, index %+v", err, ix)
	}
	if got := (*jsonIndex)(nil).skip(msg, 0); got != len(`{"a":{"b":[1,2]},"c":"}"}`) {
		t.Fatalf("nil index: %d", got)
	}
}
