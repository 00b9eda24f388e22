package rights_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde/rights"
)

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// eod is the last instant of a day in loc: what a deadline is.
func eod(loc *time.Location, y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 23, 59, 59, 999999999, loc)
}

// holidays is a holiday calendar of the given dates.
func holidays(days ...string) func(time.Time) bool {
	set := map[string]bool{}
	for _, d := range days {
		set[d] = true
	}
	return func(t time.Time) bool { return set[t.Format(time.DateOnly)] }
}

// TestGDPRDeadlines: Art. 12(3) counted per Reg. 1182/71 — day of receipt
// not counted, same-numbered day of the next month or its last day, next
// working day when the period ends on a weekend or holiday (rule on by
// default); the extension is two months from the end of the first month.
func TestGDPRDeadlines(t *testing.T) {
	paris := mustZone(t, "Europe/Paris")
	noRule := rights.DefaultRules(rights.GDPR)
	noRule.WorkingDayRule = false
	fromReceipt := rights.DefaultRules(rights.GDPR)
	fromReceipt.ExtendFromReceipt = true
	mayDay := rights.DefaultRules(rights.GDPR)
	mayDay.Holidays = holidays("2026-05-01", "2028-05-01")

	at := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 10, 30, 0, 0, paris) }
	day := func(y int, m time.Month, d int) time.Time { return eod(paris, y, m, d) }
	for _, c := range []struct {
		name     string
		rules    rights.Rules
		received time.Time
		due      time.Time
		extended time.Time
	}{
		// 28 Feb 2026 is a Saturday: Monday 2 March with the rule.
		{"31 January, non-leap year", rights.DefaultRules(rights.GDPR), at(2026, 1, 31), day(2026, 3, 2), day(2026, 4, 28)},
		{"31 January, non-leap year, rule off", noRule, at(2026, 1, 31), day(2026, 2, 28), day(2026, 4, 28)},
		{"31 January, extension from receipt", fromReceipt, at(2027, 1, 31), day(2027, 3, 1), day(2027, 4, 30)},
		{"31 January, leap year", rights.DefaultRules(rights.GDPR), at(2028, 1, 31), day(2028, 2, 29), day(2028, 5, 1)},
		// the extension ends on Saturday 29 April 2028, then Sunday, then
		// 1 May, a holiday.
		{"31 January, leap year, 1 May a holiday", mayDay, at(2028, 1, 31), day(2028, 2, 29), day(2028, 5, 2)},
		{"31 January, leap year, rule off", noRule, at(2028, 1, 31), day(2028, 2, 29), day(2028, 4, 29)},
		{"29 February", rights.DefaultRules(rights.GDPR), at(2028, 2, 29), day(2028, 3, 29), day(2028, 5, 29)},
		{"30 January, end of February", noRule, at(2026, 1, 30), day(2026, 2, 28), day(2026, 4, 28)},
		{"31 March → 30 April", rights.DefaultRules(rights.GDPR), at(2026, 3, 31), day(2026, 4, 30), day(2026, 6, 30)},
		{"31 March, extension from receipt", fromReceipt, at(2026, 3, 31), day(2026, 4, 30), day(2026, 6, 30)},
		{"30 April → 30 May (Saturday) → 1 June", rights.DefaultRules(rights.GDPR), at(2026, 4, 30), day(2026, 6, 1), day(2026, 7, 30)},
		{"31 August → 30 September", rights.DefaultRules(rights.GDPR), at(2026, 8, 31), day(2026, 9, 30), day(2026, 11, 30)},
		{"December → January", rights.DefaultRules(rights.GDPR), at(2026, 12, 15), day(2027, 1, 15), day(2027, 3, 15)},
		// 31 January 2027 is a Sunday.
		{"31 December → Sunday 31 January", rights.DefaultRules(rights.GDPR), at(2026, 12, 31), day(2027, 2, 1), day(2027, 3, 31)},
		{"31 December → Sunday, rule off", noRule, at(2026, 12, 31), day(2027, 1, 31), day(2027, 3, 31)},
		{"due on a Sunday: 28 February 2027", rights.DefaultRules(rights.GDPR), at(2027, 1, 28), day(2027, 3, 1), day(2027, 4, 28)},
		// 1 May 2026 is a Friday holiday: then the weekend.
		{"due on a holiday", mayDay, at(2026, 4, 1), day(2026, 5, 4), day(2026, 7, 1)},
		{"holiday not configured", rights.DefaultRules(rights.GDPR), at(2026, 4, 1), day(2026, 5, 1), day(2026, 7, 1)},
		// 23:30 UTC on 31 January is 00:30 on 1 February in Paris: received
		// on 1 February, due 1 March (a Sunday) → 2 March.
		{"receipt counted in the controller's zone", rights.DefaultRules(rights.GDPR), time.Date(2026, 1, 31, 23, 30, 0, 0, time.UTC), day(2026, 3, 2), day(2026, 5, 1)},
		{"receipt just before midnight", rights.DefaultRules(rights.GDPR), time.Date(2026, 3, 15, 23, 59, 59, 0, paris), day(2026, 4, 15), day(2026, 6, 15)},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := c.rules.Deadlines(rights.GDPR, rights.Access, c.received)
			want := rights.Clock{DueBy: c.due, ExtendedDueBy: c.extended, ExtendNoticeBy: c.due}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("deadlines (-want +got):\n%s", diff)
			}
			if got.DueBy.Location().String() != paris.String() {
				t.Errorf("due in %v, want Europe/Paris", got.DueBy.Location())
			}
		})
	}
}

// TestCCPADeadlines: §7021 — confirm within 10 business days, answer
// within 45 calendar days, +45 once (90); §7026(f)/§7027(g) — opt-outs
// within 15 business days, not extendable.
func TestCCPADeadlines(t *testing.T) {
	la := mustZone(t, "America/Los_Angeles")
	def := rights.DefaultRules(rights.CCPA)
	thanksgiving := def
	thanksgiving.Holidays = holidays("2026-11-26", "2026-11-27", "2026-12-25", "2027-01-01")
	workingDay := def
	workingDay.WorkingDayRule = true

	at := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 9, 0, 0, 0, la) }
	day := func(y int, m time.Month, d int) time.Time { return eod(la, y, m, d) }
	for _, c := range []struct {
		name     string
		rules    rights.Rules
		typ      rights.Type
		received time.Time
		want     rights.Clock
	}{
		{"know, received on a Monday", def, rights.Access, at(2026, 3, 2), rights.Clock{
			ConfirmBy: day(2026, 3, 16), DueBy: day(2026, 4, 16), ExtendedDueBy: day(2026, 5, 31), ExtendNoticeBy: day(2026, 4, 16)}},
		{"know, 90th day a Sunday, working-day rule on", workingDay, rights.Access, at(2026, 3, 2), rights.Clock{
			ConfirmBy: day(2026, 3, 16), DueBy: day(2026, 4, 16), ExtendedDueBy: day(2026, 6, 1), ExtendNoticeBy: day(2026, 4, 16)}},
		{"delete, received on a Friday: across two weekends", def, rights.Erasure, at(2026, 3, 6), rights.Clock{
			ConfirmBy: day(2026, 3, 20), DueBy: day(2026, 4, 20), ExtendedDueBy: day(2026, 6, 4), ExtendNoticeBy: day(2026, 4, 20)}},
		{"correct, received on a Saturday", def, rights.Rectification, at(2026, 3, 7), rights.Clock{
			ConfirmBy: day(2026, 3, 20), DueBy: day(2026, 4, 21), ExtendedDueBy: day(2026, 6, 5), ExtendNoticeBy: day(2026, 4, 21)}},
		{"portability, without holidays", def, rights.Portability, at(2026, 11, 23), rights.Clock{
			ConfirmBy: day(2026, 12, 7), DueBy: day(2027, 1, 7), ExtendedDueBy: day(2027, 2, 21), ExtendNoticeBy: day(2027, 1, 7)}},
		{"portability, Thanksgiving and the day after are holidays", thanksgiving, rights.Portability, at(2026, 11, 23), rights.Clock{
			ConfirmBy: day(2026, 12, 9), DueBy: day(2027, 1, 7), ExtendedDueBy: day(2027, 2, 21), ExtendNoticeBy: day(2027, 1, 7)}},
		{"opt-out of sale, 15 business days", def, rights.OptOutSaleSharing, at(2026, 3, 2), rights.Clock{DueBy: day(2026, 3, 23)}},
		{"limit sensitive, across Christmas and New Year", def, rights.LimitSensitive, at(2026, 12, 18), rights.Clock{DueBy: day(2027, 1, 8)}},
		{"limit sensitive, Christmas and New Year holidays", thanksgiving, rights.LimitSensitive, at(2026, 12, 18), rights.Clock{DueBy: day(2027, 1, 12)}},
		// 06:00 UTC on 3 March is 22:00 on 2 March in Los Angeles.
		{"receipt counted in the controller's zone", def, rights.Access, time.Date(2026, 3, 3, 6, 0, 0, 0, time.UTC), rights.Clock{
			ConfirmBy: day(2026, 3, 16), DueBy: day(2026, 4, 16), ExtendedDueBy: day(2026, 5, 31), ExtendNoticeBy: day(2026, 4, 16)}},
		{"restriction is not a CCPA right", def, rights.Restriction, at(2026, 3, 2), rights.Clock{}},
		{"objection is not a CCPA right", def, rights.Objection, at(2026, 3, 2), rights.Clock{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := c.rules.Deadlines(rights.CCPA, c.typ, c.received)
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("deadlines (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDeadlinesFunc: the package function uses the default rules and
// zones, and loc when given.
func TestDeadlinesFunc(t *testing.T) {
	paris, la, tokyo := mustZone(t, "Europe/Paris"), mustZone(t, "America/Los_Angeles"), mustZone(t, "Asia/Tokyo")
	received := time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		j    rights.Jurisdiction
		loc  *time.Location
		due  time.Time
	}{
		{"GDPR, default zone", rights.GDPR, nil, eod(paris, 2026, 3, 2)},
		{"GDPR, Tokyo", rights.GDPR, tokyo, eod(tokyo, 2026, 3, 2)},
		{"CCPA, default zone", rights.CCPA, nil, eod(la, 2026, 3, 17)},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := rights.Deadlines(c.j, rights.Erasure, received, c.loc)
			if !got.DueBy.Equal(c.due) || got.DueBy.Location().String() != c.due.Location().String() {
				t.Errorf("due %v, want %v", got.DueBy, c.due)
			}
		})
	}
	if got := rights.Deadlines("LGPD", rights.Access, received, nil); got != (rights.Clock{}) {
		t.Errorf("unknown jurisdiction: got %v, want no clock", got)
	}
	if got := rights.Deadlines(rights.GDPR, "telepathy", received, nil); got != (rights.Clock{}) {
		t.Errorf("unknown type: got %v, want no clock", got)
	}
}

// TestHolidayCalendarWithoutWorkingDays: a calendar that declares every day
// a holiday does not stall the clock.
func TestHolidayCalendarWithoutWorkingDays(t *testing.T) {
	r := rights.DefaultRules(rights.CCPA)
	r.Holidays = func(time.Time) bool { return true }
	c := r.Deadlines(rights.CCPA, rights.OptOutSaleSharing, time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	if c.DueBy.IsZero() {
		t.Fatal("no deadline")
	}
}
