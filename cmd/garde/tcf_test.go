package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/garde-privacy/garde"
)

// runTCF runs the tcf command in-process.
func runTCF(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := newTCFCmd()
	var out, errOut bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err = cmd.Execute()
	return out.String(), errOut.String(), err
}

const tcfFields = `{
  "version": 2, "created": "2024-05-01T12:30:15.7Z", "lastUpdated": "2024-05-01T13:30:15.7Z",
  "cmpId": 300, "cmpVersion": 7, "consentScreen": 2, "consentLanguage": "FR", "vendorListVersion": 150,
  "policyVersion": 5, "isServiceSpecific": true, "useNonStandardTexts": false,
  "specialFeatureOptins": [1], "purposeConsents": [1, 2, 3, 4, 7], "purposeLegitimateInterests": [2, 7, 8],
  "purposeOneTreatment": false, "publisherCountryCode": "DE",
  "vendorConsents": [1, 2, 3, 755], "vendorLegitimateInterests": [8, 9, 10],
  "publisherRestrictions": [{"purposeId": 2, "restrictionType": 1, "vendors": [8, 9]}],
  "vendorsDisclosed": [1, 2, 3, 8, 9, 10, 755]
}`

func TestTCFRoundTrip(t *testing.T) {
	s, stderr, err := runTCF(t, tcfFields, "encode")
	if err != nil {
		t.Fatalf("encode: %v\n%s", err, stderr)
	}
	s = strings.TrimSpace(s)
	fields, stderr, err := runTCF(t, "", "decode", s)
	if err != nil || stderr != "" {
		t.Fatalf("decode: %v\n%s", err, stderr)
	}
	if !strings.Contains(fields, `"vendorConsents": [`) {
		t.Errorf("decode printed %s, want indented JSON", fields)
	}
	file := filepath.Join(t.TempDir(), "tc.json")
	if err := os.WriteFile(file, []byte(fields), 0o600); err != nil {
		t.Fatal(err)
	}
	again, stderr, err := runTCF(t, "", "encode", file)
	if err != nil {
		t.Fatalf("encode %s: %v\n%s", file, err, stderr)
	}
	if strings.TrimSpace(again) != s {
		t.Errorf("decode → encode gave %q, want %q", again, s)
	}
}

func TestTCFInvalid(t *testing.T) {
	// A published example from before TCF v2.2: decodes, but policy version 2.
	out, stderr, err := runTCF(t, "", "decode", "COtybn4PA_zT4KjACBENAPCIAEBAAECAAIAAAAAAAAAA")
	if garde.ErrorCode(err) != garde.EInvalid || !strings.Contains(stderr, "policy version 2 is below 4") || !strings.Contains(out, `"cmpId": 675`) {
		t.Errorf("got err %v, stderr %q, stdout %q; want the fields, the problem on stderr and an error", err, stderr, out)
	}
	if _, _, err := runTCF(t, "", "decode", "not a tc string"); garde.ErrorCode(err) != garde.EInvalid {
		t.Errorf("malformed: got %v, want an invalid error", err)
	}
	invalid := strings.Replace(tcfFields, `"purposeLegitimateInterests": [2, 7, 8]`, `"purposeLegitimateInterests": [3]`, 1)
	if out, stderr, err := runTCF(t, invalid, "encode"); err == nil || out != "" || !strings.Contains(stderr, "not allowed for purpose 3") {
		t.Errorf("got err %v, stdout %q, stderr %q; want a refusal naming purpose 3", err, out, stderr)
	}
	if out, _, err := runTCF(t, invalid, "encode", "--no-validate"); err != nil || out == "" {
		t.Errorf("--no-validate: got %q, %v; want a string", out, err)
	}
	if _, _, err := runTCF(t, `{"cmpID": 3}`, "encode"); garde.ErrorCode(err) != garde.EInvalid {
		t.Errorf("unknown field: got %v, want an invalid error", err)
	}
}
