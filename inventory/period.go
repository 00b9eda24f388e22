package inventory

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxPeriodCount bounds each number in a period, so that no period can
// overflow date arithmetic (10,000 years is far beyond any retention).
const maxPeriodCount = 10000

// Period is a calendar length of time: years, months and days, counted in
// that order by AddTo. A week is seven days. The zero Period is empty.
type Period struct {
	Years, Months, Days int
}

// ParsePeriod parses a period written as one or more "<n> <unit>" terms,
// such as "13 months", "1 year", "2 weeks" or "1 year 6 months". Units are
// day, week, month and year, singular or plural, in any case; each unit may
// appear once; n is a decimal number from 0 to 10,000. Weeks become days, so
// "1 week 2 days" is 9 days (and weeks and days together may not pass
// 10,000 days). ParsePeriod(p.String()) == p for every Period
// ParsePeriod can return.
func ParsePeriod(s string) (Period, error) {
	words := strings.Fields(s)
	if len(words) == 0 {
		return Period{}, errors.New(`empty period: want "<n> days|weeks|months|years"`)
	}
	if len(words)%2 != 0 {
		return Period{}, fmt.Errorf(`period %q: want "<n> <unit>" terms, e.g. "13 months"`, s)
	}
	var p Period
	seen := map[string]bool{}
	for i := 0; i < len(words); i += 2 {
		n, err := periodCount(words[i])
		if err != nil {
			return Period{}, fmt.Errorf("period %q: %v", s, err)
		}
		unit := strings.TrimSuffix(strings.ToLower(words[i+1]), "s")
		if seen[unit] {
			return Period{}, fmt.Errorf("period %q: %s given twice", s, unit)
		}
		seen[unit] = true
		switch unit {
		case "day":
			p.Days += n
		case "week":
			p.Days += 7 * n
		case "month":
			p.Months = n
		case "year":
			p.Years = n
		default:
			return Period{}, fmt.Errorf("period %q: unknown unit %q: want days, weeks, months or years", s, words[i+1])
		}
	}
	if p.Days > maxPeriodCount {
		return Period{}, fmt.Errorf("period %q: more than %d days", s, maxPeriodCount)
	}
	return p, nil
}

func periodCount(w string) (int, error) {
	for _, r := range w {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("%q is not a whole number", w)
		}
	}
	n, err := strconv.Atoi(w)
	if err != nil || n > maxPeriodCount {
		return 0, fmt.Errorf("%s is more than %d", w, maxPeriodCount)
	}
	return n, nil
}

// IsZero reports whether the period is empty.
func (p Period) IsZero() bool { return p == Period{} }

// AddTo returns t plus the period, with the calendar arithmetic of
// time.Time.AddDate: a date that does not exist is normalised forward, so
// 31 January + 1 month is 3 March (2 March in a leap year), and 29 February
// + 1 year is 1 March. A retention therefore never ends before the same
// date in the target month; at most it runs three days longer.
func (p Period) AddTo(t time.Time) time.Time {
	return t.AddDate(p.Years, p.Months, p.Days)
}

// String returns the canonical form: years, months then days, zero parts
// left out, singular for one ("1 year 6 months", "14 days"); the zero
// Period is "0 days".
func (p Period) String() string {
	var parts []string
	for _, u := range [...]struct {
		n    int
		unit string
	}{{p.Years, "year"}, {p.Months, "month"}, {p.Days, "day"}} {
		switch {
		case u.n == 1:
			parts = append(parts, "1 "+u.unit)
		case u.n != 0:
			parts = append(parts, strconv.Itoa(u.n)+" "+u.unit+"s")
		}
	}
	if len(parts) == 0 {
		return "0 days"
	}
	return strings.Join(parts, " ")
}
