package tcf_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/garde-privacy/garde/consent/tcf"
)

const jsDir = "testdata/js"

// iabResult is one answer of testdata/js/tcf.mjs.
type iabResult struct {
	tcf.TCString
	String string `json:"string"`
	Error  string `json:"error"`
}

// runIAB sends a request to the IAB's JavaScript library. Without node or
// the installed package the test is skipped, loudly, except under CI=true
// where the cross-check is required.
func runIAB(t *testing.T, decode []string, encode []*tcf.TCString) (decoded, encoded []iabResult) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(jsDir, "node_modules", "@iabtechlabtcf", "core", "package.json"))
	}
	if err != nil {
		msg := "IAB cross-check NOT RUN (" + err.Error() + "); run: npm ci --prefix consent/tcf/testdata/js"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	req, err := json.Marshal(map[string]any{"decode": decode, "encode": encode})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join(jsDir, "tcf.mjs"))
	cmd.Stdin = bytes.NewReader(req)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node tcf.mjs: %v\n%s", err, stderr.String())
	}
	var resp struct {
		Decoded []iabResult `json:"decoded"`
		Encoded []iabResult `json:"encoded"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("node tcf.mjs answered %q: %v", out, err)
	}
	if len(resp.Decoded) != len(decode) || len(resp.Encoded) != len(encode) {
		t.Fatalf("node tcf.mjs answered %d/%d items, want %d/%d", len(resp.Decoded), len(resp.Encoded), len(decode), len(encode))
	}
	return resp.Decoded, resp.Encoded
}

// TestIAB cross-checks with the IAB's reference library in both directions:
// strings this package encodes decode to the same fields there, strings the
// IAB encodes decode to the same fields here, and both read the published
// example strings alike.
func TestIAB(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	var inputs []*tcf.TCString
	var ours []string
	for range 200 {
		tc := randomTC(r)
		s, err := tcf.Encode(tc)
		if err != nil {
			t.Fatal(err)
		}
		inputs, ours = append(inputs, tc), append(ours, s)
	}
	var knownStrings []string
	for _, k := range known {
		knownStrings = append(knownStrings, unpadded(k.s))
	}
	decoded, encoded := runIAB(t, append(ours, knownStrings...), inputs)

	same := 0
	for i, tc := range inputs {
		want := normalize(tc)
		// Our Encode → IAB decode.
		if d := decoded[i]; d.Error != "" {
			t.Errorf("%d: IAB could not decode our %q: %s", i, ours[i], d.Error)
		} else if diff := quickDiff(want, normalize(&d.TCString)); diff != "" {
			t.Errorf("%d: IAB decode of our %q (-ours +IAB):\n%s", i, ours[i], diff)
		}
		// IAB encode → our Decode.
		e := encoded[i]
		if e.Error != "" {
			t.Errorf("%d: IAB could not encode: %s", i, e.Error)
			continue
		}
		got, err := tcf.Decode(e.String)
		if err != nil {
			t.Errorf("%d: Decode of IAB's %q: %v", i, e.String, err)
			continue
		}
		if diff := quickDiff(want, normalize(got)); diff != "" {
			t.Errorf("%d: Decode of IAB's %q (-want +ours):\n%s", i, e.String, diff)
		}
		if e.String == ours[i] {
			same++
		}
	}
	t.Logf("%d of %d strings byte-identical to the IAB's; the fields were compared either way", same, len(inputs))

	for i, k := range known {
		d := decoded[len(ours)+i]
		if d.Error != "" {
			t.Errorf("%s: IAB could not decode: %s", k.name, d.Error)
			continue
		}
		mine, err := tcf.Decode(k.s)
		if err != nil {
			t.Fatal(err)
		}
		if diff := quickDiff(normalize(mine), normalize(&d.TCString)); diff != "" {
			t.Errorf("%s (-ours +IAB):\n%s", k.name, diff)
		}
	}
}
