package inventory_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde/inventory"
)

// TestBannerProblems: each testdata/lint/banner_*.yaml is a small valid
// inventory whose banner section changes one thing. The lint names the
// EDPB Guidelines 03/2022 category of the deceptive pattern it refuses.
func TestBannerProblems(t *testing.T) {
	for _, tc := range []struct {
		file     string
		want     want
		category string // the EDPB category the message names
		also     []string
	}{
		{"banner_unequal_buttons", want{"banner-unequal-buttons", sevError, 35, "banner.buttons"}, "stirring", nil},
		{"banner_unequal_labels", want{"banner-unequal-labels", sevError, 35, "banner.buttons"}, "stirring", []string{"banner-unequal-labels"}},
		{"banner_low_contrast", want{"banner-low-contrast", sevError, 35, "banner.buttons.refuse"}, "stirring", []string{"banner-low-contrast"}},
		{"banner_pre_checked", want{"banner-pre-checked", sevError, 33, "banner.pre_checked"}, "skipping", nil},
		{"banner_no_refusal", want{"banner-no-refusal", sevError, 33, "banner.refuse_on_first_layer"}, "obstructing", nil},
		{"banner_consent_wall", want{"banner-consent-wall", sevError, 33, "banner.consent_wall"}, "obstructing", nil},
		{"banner_close_dismisses", want{"banner-close-dismisses", sevError, 33, "banner.close_means"}, "overloading", nil},
		{"banner_bundled_purposes", want{"banner-bundled-purposes", sevError, 33, "banner.bundle[0]"}, "left in the dark", nil},
		{"banner_purpose_basis", want{"banner-purpose-basis", sevError, 33, "banner.purposes[0]"}, "left in the dark", nil},
		{"banner_invalid_colour", want{"invalid-value", sevError, 34, "banner.buttons.accept.background"}, "", nil},
		{"banner_valid", want{"channel-missing", sevWarning, 28, "sources"}, "", nil},
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
				if wantOf(p) == tc.want && !found {
					found = true
					if tc.category != "" && !strings.Contains(p.Message, "EDPB Guidelines 03/2022: "+tc.category) {
						t.Errorf("message %q does not name the category %q", p.Message, tc.category)
					}
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

func bannerKeys(ps []*inventory.Purpose) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.Key)
	}
	return out
}

// TestBannerValid: what a fair banner section decodes to.
func TestBannerValid(t *testing.T) {
	inv, problems, err := inventory.Load(filepath.Join("testdata", "lint", "banner_valid.yaml"))
	if err != nil || inv == nil {
		t.Fatalf("%v\n%s", err, problems.Error())
	}
	b := inv.Banner
	if diff := cmp.Diff(inventory.BannerButton{Label: inventory.Text{EN: "Yes to all", FR: "Oui à tout"}, Colour: "#000000", Background: "#fde047"}, b.Accept); diff != "" {
		t.Errorf("accept (-want +got):\n%s", diff)
	}
	if b.Accept.Colour != b.Refuse.Colour || b.Accept.Background != b.Refuse.Background {
		t.Errorf("colours not normalised: %+v %+v", b.Accept, b.Refuse)
	}
	if b.Customise.Label.EN != "Customise" || b.Customise.Background != "#111827" {
		t.Errorf("customise: %+v", b.Customise)
	}
	if b.NoticeVersion != 2 || b.Title.FR != "Cookies" || b.Intro.EN != "We would like your consent." ||
		!b.RefuseOnFirstLayer || b.CloseMeans != inventory.CloseRefuse || b.ConsentWall || len(b.PreChecked) != 0 || len(b.Bundles) != 0 {
		t.Errorf("banner: %+v", b)
	}
	if diff := cmp.Diff([]string{"analytics", "ads"}, bannerKeys(b.Purposes)); diff != "" {
		t.Errorf("purposes (-want +got):\n%s", diff)
	}
}

// TestBannerDefaults: without a banner section, the banner asks about
// every purpose based on consent except those needing explicit consent,
// with equal buttons and fair settings.
func TestBannerDefaults(t *testing.T) {
	inv, problems, err := inventory.Parse("garde.yaml", []byte(`version: 1
organisation: {name: Acme, country: FR, dpo: {name: D, email: dpo@acme.example}}
categories:
  - {key: user.contact.email, sensitivity: ordinary}
purposes:
  - {key: service, name: {en: S, fr: S}, description: {en: S, fr: S}, legal_basis: contract, retention: {period: 1 year}}
  - {key: health, name: {en: H, fr: H}, description: {en: H, fr: H}, legal_basis: consent, explicit_consent: true, retention: {period: 1 year}}
  - {key: stats, name: {en: A, fr: A}, description: {en: A, fr: A}, legal_basis: consent, retention: {period: 1 year}}
sources:
  - {key: web, channel: web, write_key: test-web-key}
tracking_plan:
  traits:
    email: {category: user.contact.email, purposes: [service, health, stats]}
`))
	if err != nil || inv == nil {
		t.Fatalf("%v\n%s", err, problems.Error())
	}
	b := inv.Banner
	if diff := cmp.Diff([]string{"stats"}, bannerKeys(b.Purposes)); diff != "" {
		t.Errorf("purposes (-want +got):\n%s", diff)
	}
	if b.Accept.Colour != b.Refuse.Colour || b.Accept.Background != b.Refuse.Background || b.Accept.Label.EN != "Accept all" || b.Refuse.Label.FR != "Tout refuser" {
		t.Errorf("buttons: %+v %+v", b.Accept, b.Refuse)
	}
	if b.NoticeVersion != 1 || !b.RefuseOnFirstLayer || b.CloseMeans != inventory.CloseRefuse || b.ConsentWall || b.Title.EN == "" || b.Intro.FR == "" {
		t.Errorf("banner: %+v", b)
	}
	if !strings.HasPrefix(b.Intro.EN, "Acme would like") || !strings.HasPrefix(b.Intro.FR, "Acme souhaite") {
		t.Errorf("intro does not name the organisation: %q", b.Intro.EN)
	}
}

// TestExampleBanner pins down the example's banner: the cookie purposes.
func TestExampleBanner(t *testing.T) {
	b := inventory.MustExample().Banner
	if diff := cmp.Diff([]string{"analytics", "personalisation", "targeted_advertising"}, bannerKeys(b.Purposes)); diff != "" {
		t.Errorf("purposes (-want +got):\n%s", diff)
	}
}
