package inventory_test

import (
	"testing"
	"time"

	"github.com/garde-privacy/garde/inventory"
)

func TestParsePeriod(t *testing.T) {
	for _, tc := range []struct {
		in        string
		want      inventory.Period
		canonical string // "" when in is an error
	}{
		{"1 day", inventory.Period{Days: 1}, "1 day"},
		{"30 days", inventory.Period{Days: 30}, "30 days"},
		{"2 weeks", inventory.Period{Days: 14}, "14 days"},
		{"1 week", inventory.Period{Days: 7}, "7 days"},
		{"13 months", inventory.Period{Months: 13}, "13 months"},
		{"1 month", inventory.Period{Months: 1}, "1 month"},
		{"1 year", inventory.Period{Years: 1}, "1 year"},
		{"10 years", inventory.Period{Years: 10}, "10 years"},
		{"  3  Years ", inventory.Period{Years: 3}, "3 years"},
		{"1 years", inventory.Period{Years: 1}, "1 year"},
		{"1 year 6 months", inventory.Period{Years: 1, Months: 6}, "1 year 6 months"},
		{"6 months 1 year", inventory.Period{Years: 1, Months: 6}, "1 year 6 months"},
		{"1 week 2 days", inventory.Period{Days: 9}, "9 days"},
		{"0 days", inventory.Period{}, "0 days"},
		{"10000 days", inventory.Period{Days: 10000}, "10000 days"},
		{"", inventory.Period{}, ""},
		{"13", inventory.Period{}, ""},
		{"months", inventory.Period{}, ""},
		{"-1 days", inventory.Period{}, ""},
		{"+1 days", inventory.Period{}, ""},
		{"1.5 years", inventory.Period{}, ""},
		{"3 fortnights", inventory.Period{}, ""},
		{"1 year 1 year", inventory.Period{}, ""},
		{"1 day 1 days", inventory.Period{}, ""},
		{"10001 days", inventory.Period{}, ""},
		{"1500 weeks", inventory.Period{}, ""},
		{"99999999999999999999 days", inventory.Period{}, ""},
		{"P1Y", inventory.Period{}, ""},
	} {
		got, err := inventory.ParsePeriod(tc.in)
		if tc.canonical == "" {
			if err == nil {
				t.Errorf("ParsePeriod(%q) = %v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParsePeriod(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			continue
		}
		if s := got.String(); s != tc.canonical {
			t.Errorf("ParsePeriod(%q).String() = %q, want %q", tc.in, s, tc.canonical)
		}
		if back, err := inventory.ParsePeriod(got.String()); err != nil || back != got {
			t.Errorf("round trip of %q: %+v, %v", got.String(), back, err)
		}
	}
}

func TestPeriodString(t *testing.T) {
	for _, tc := range []struct {
		p    inventory.Period
		want string
	}{
		{inventory.Period{}, "0 days"},
		{inventory.Period{Years: 1, Months: 1, Days: 1}, "1 year 1 month 1 day"},
		{inventory.Period{Years: 2, Days: 3}, "2 years 3 days"},
	} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("%+v.String() = %q, want %q", tc.p, got, tc.want)
		}
	}
}

// TestAddTo pins down the time.AddDate semantics: a day that does not exist
// in the target month spills into the next one.
func TestAddTo(t *testing.T) {
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 10, 30, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name   string
		period string
		from   time.Time
		want   time.Time
	}{
		{"31 Jan + 1 month spills into March", "1 month", day(2025, 1, 31), day(2025, 3, 3)},
		{"31 Jan + 1 month in a leap year", "1 month", day(2024, 1, 31), day(2024, 3, 2)},
		{"30 Jan + 1 month", "1 month", day(2025, 1, 30), day(2025, 3, 2)},
		{"28 Feb + 1 month", "1 month", day(2025, 2, 28), day(2025, 3, 28)},
		{"31 Mar + 1 month", "1 month", day(2025, 3, 31), day(2025, 5, 1)},
		{"29 Feb + 1 year", "1 year", day(2024, 2, 29), day(2025, 3, 1)},
		{"13 months", "13 months", day(2025, 1, 15), day(2026, 2, 15)},
		{"2 weeks", "2 weeks", day(2025, 12, 25), day(2026, 1, 8)},
		{"years, months and days", "1 year 1 month 1 day", day(2025, 1, 31), day(2026, 3, 4)},
	} {
		p, err := inventory.ParsePeriod(tc.period)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.AddTo(tc.from); !got.Equal(tc.want) {
			t.Errorf("%s: got %s, want %s", tc.name, got.Format(time.DateOnly), tc.want.Format(time.DateOnly))
		}
	}
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no time zone data")
	}
	// Across a DST change, the wall-clock time is kept.
	from := time.Date(2025, 3, 29, 12, 0, 0, 0, paris)
	if got := (inventory.Period{Days: 1}).AddTo(from); got.Hour() != 12 || got.Day() != 30 {
		t.Errorf("1 day after %s = %s", from, got)
	}
}
