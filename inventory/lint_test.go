package inventory_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde/inventory"
)

// want is the part of a Problem a test pins down.
type want struct {
	Code     string
	Severity inventory.Severity
	Line     int
	Path     string
}

func wantOf(p inventory.Problem) want {
	return want{Code: p.Code, Severity: p.Severity, Line: p.Line, Path: p.Path}
}

const (
	sevError   = inventory.SeverityError
	sevWarning = inventory.SeverityWarning
)

// Each file in testdata/lint is the valid base (valid.yaml) with one thing
// changed. The test wants the named problem, and no error besides the ones
// listed in also (which follow from the same change).
func TestProblems(t *testing.T) {
	for _, tc := range []struct {
		file string
		want want
		also []string // codes of other errors the change causes
	}{
		{"unknown_key", want{"unknown-key", sevError, 19, "tracking_plan.traits.email.purpose"}, []string{"field-no-purpose"}},
		{"missing_key", want{"missing-key", sevError, 16, "sources[web]"}, nil},
		{"duplicate_key", want{"duplicate-key", sevError, 5, "organisation.name"}, nil},
		{"duplicate_category", want{"duplicate-category", sevError, 9, "categories[user.contact.email]"}, nil},
		{"duplicate_purpose", want{"duplicate-purpose", sevError, 15, "purposes[service]"}, nil},
		{"key_syntax", want{"key-syntax", sevError, 10, "purposes[Service-Desk]"}, []string{"unknown-purpose"}},
		{"unknown_category", want{"unknown-category", sevError, 19, "tracking_plan.traits.email.category"}, nil},
		{"unknown_purpose", want{"unknown-purpose", sevError, 19, "tracking_plan.traits.email.purposes"}, nil},
		{"invalid_value", want{"invalid-value", sevError, 13, "purposes[service].legal_basis"}, nil},
		{"invalid_period", want{"invalid-period", sevError, 14, "purposes[service].retention.period"}, nil},
		{"zero_period", want{"invalid-period", sevError, 14, "purposes[service].retention.period"}, nil},
		{"duplicate_write_key", want{"duplicate-write-key", sevError, 17, "sources[ios].write_key"}, nil},
		{"write_key_syntax", want{"write-key-syntax", sevError, 16, "sources[web].write_key"}, nil},
		{"invalid_origin", want{"invalid-origin", sevError, 16, "sources[web].origins[0]"}, nil},
		{"unsupported_version", want{"unsupported-version", sevError, 1, "version"}, nil},
		{"missing_text", want{"missing-text", sevError, 12, "purposes[service].description.fr"}, nil},
		{"wrong_type", want{"wrong-type", sevError, 19, "tracking_plan.traits.email.purposes"}, nil},
		{"sensitive_not_personal", want{"sensitive-not-personal", sevError, 9, "categories[user.contact.email].personal"}, nil},
		{"field_no_purpose", want{"field-no-purpose", sevError, 19, "tracking_plan.traits.email"}, nil},
		{"event_no_purpose", want{"event-no-purpose", sevError, 19, "tracking_plan.events.Signed Up"}, nil},
		{"purpose_no_retention", want{"purpose-no-retention", sevError, 10, "purposes[service]"}, nil},
		{"special_category_basis", want{"special-category-basis", sevError, 21, "tracking_plan.traits.heart_rate"}, nil},
		{"special_category_targeting", want{"special-category-targeting", sevError, 28, "tracking_plan.traits.heart_rate"}, nil},
		{"child_targeting", want{"child-targeting", sevError, 27, "tracking_plan.traits.age_band"}, nil},
		{"direct_marketing_basis", want{"direct-marketing-basis", sevError, 18, "purposes[newsletter].legal_basis"}, nil},
		{"targeted_advertising_basis", want{"targeted-advertising-basis", sevError, 18, "purposes[ads].legal_basis"}, nil},
		{"explicit_consent_basis", want{"explicit-consent-basis", sevWarning, 14, "purposes[service].explicit_consent"}, nil},
		{"purpose_unused", want{"purpose-unused", sevWarning, 15, "purposes[analytics]"}, nil},
		{"category_unused", want{"category-unused", sevWarning, 9, "categories[user.name]"}, nil},
		{"context_path_depth", want{"context-path-depth", sevWarning, 19, "tracking_plan.context.device.screen.width"}, nil},
		{"dpo_missing", want{"dpo-missing", sevWarning, 3, "organisation"}, nil},
		{"valid", want{"channel-missing", sevWarning, 16, "sources"}, nil},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", "lint", tc.file+".yaml")
			inv, problems, err := inventory.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			var others []string
			for _, p := range problems {
				if p.File != path || p.Column < 1 {
					t.Errorf("problem %s: want file %s and a column", p, path)
				}
				if wantOf(p) == tc.want {
					found = true
				} else if p.Severity == sevError {
					others = append(others, p.Code)
				}
			}
			if !found {
				t.Errorf("want %+v; got:\n%s", tc.want, problems.Error())
			}
			if diff := cmp.Diff(tc.also, others); diff != "" {
				t.Errorf("other errors (-want +got):\n%s", diff)
			}
			if (inv == nil) != (tc.want.Severity == sevError) {
				t.Errorf("inventory returned: %v, with errors: %v", inv != nil, problems.HasErrors())
			}
		})
	}
}

// manyPurposes is an inventory header for TestTooManyPurposes: 14 lines,
// the purposes list follows.
const manyPurposes = `version: 1
organisation:
  name: Test SAS
  country: FR
  dpo: {name: Test DPO, email: dpo@test.example}
categories:
  - key: user.contact.email
    sensitivity: ordinary
sources:
  - {key: web, channel: web, write_key: test-web-key}
tracking_plan:
  traits:
    email: {category: user.contact.email, purposes: [p0]}
purposes:
`

func TestTooManyPurposes(t *testing.T) {
	var sb strings.Builder
	sb.WriteString(manyPurposes)
	for i := range 65 {
		fmt.Fprintf(&sb, "  - {key: p%d, name: {en: P, fr: P}, description: {en: P, fr: P}, legal_basis: contract, retention: {period: 1 day}}\n", i)
	}
	inv, problems, err := inventory.Parse("many.yaml", []byte(sb.String()))
	if err != nil {
		t.Fatal(err)
	}
	var got []want
	for _, p := range problems {
		if p.Severity == sevError {
			got = append(got, wantOf(p))
		}
	}
	if diff := cmp.Diff([]want{{"too-many-purposes", sevError, 15 + 64, "purposes[p64]"}}, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if inv != nil {
		t.Error("an inventory with 65 purposes was returned")
	}
}
