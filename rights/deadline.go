// Package rights handles data-subject requests — access, portability,
// rectification, erasure, restriction, objection, and the Californian
// opt-outs — and the legal clocks that run on them: GDPR Art. 12(3) (one
// month, counted per Regulation (EEC, Euratom) No 1182/71, extendable by two
// further months) and CCPA regulations 11 CCR §7021 and §7026 (10 business
// days to confirm, 45 calendar days to answer, +45 once, 15 business days
// for opt-outs). A request moves through a small state machine whose every
// step is kept in its history; an overdue request is reported so that an
// alert can be raised.
//
// Deadlines are dates: a request is due by the end of that day in the
// controller's time zone. Every figure that the law leaves to a member
// state, a reading or a calendar (holidays, the working-day rule, the
// identity pause) is a Rules setting with the conservative reading as the
// default. Not legal advice.
package rights

import (
	"time"
	_ "time/tzdata" // deadlines must not depend on the host's zone database
)

// Jurisdiction is the law a request is made under.
type Jurisdiction string

// Jurisdictions.
const (
	GDPR Jurisdiction = "GDPR"
	CCPA Jurisdiction = "CCPA"
)

// Valid reports whether j is a known jurisdiction.
func (j Jurisdiction) Valid() bool { return j == GDPR || j == CCPA }

// Type is what the person asks for.
type Type string

// Request types. Under the CCPA, access and portability are requests to
// know, rectification a request to correct, erasure a request to delete;
// restriction and objection are GDPR rights only (Arts. 18 and 21).
const (
	Access            Type = "access"
	Portability       Type = "portability"
	Rectification     Type = "rectification"
	Erasure           Type = "erasure"
	Restriction       Type = "restriction"
	Objection         Type = "objection"
	OptOutSaleSharing Type = "opt_out_sale_sharing"
	LimitSensitive    Type = "limit_sensitive"
)

// Types lists every request type.
var Types = []Type{Access, Portability, Rectification, Erasure, Restriction, Objection, OptOutSaleSharing, LimitSensitive}

// Valid reports whether t is a known request type.
func (t Type) Valid() bool {
	for _, k := range Types {
		if t == k {
			return true
		}
	}
	return false
}

// Supported reports whether a request of type t can be made under j: every
// type under the GDPR (an opt-out of sale or a limit on sensitive data is an
// Art. 21 objection or an Art. 7(3) withdrawal, answered under Art. 12(3)),
// every type but restriction and objection under the CCPA.
func Supported(j Jurisdiction, t Type) bool {
	switch j {
	case GDPR:
		return t.Valid()
	case CCPA:
		return t.Valid() && t != Restriction && t != Objection
	}
	return false
}

// Clock holds a request's legal deadlines. Each is the last instant of a
// day in the controller's zone; a zero time means the law sets no such
// deadline for the request (no acknowledgement under the GDPR, no
// extension of a CCPA opt-out).
type Clock struct {
	ConfirmBy      time.Time // CCPA: confirm receipt (§7021(a))
	DueBy          time.Time // answer (GDPR Art. 12(3); CCPA §7021(b), §7026(f), §7027(g))
	ExtendedDueBy  time.Time // answer, once extended
	ExtendNoticeBy time.Time // tell the person of an extension and its reasons
}

// Rules are one jurisdiction's settings for the clock. Start from
// DefaultRules or DefaultConfig: the zero value turns the working-day rule
// off.
type Rules struct {
	// Location is the controller's time zone: a deadline ends at midnight
	// there. Nil: Europe/Paris for the GDPR, America/Los_Angeles for the
	// CCPA.
	Location *time.Location
	// Holidays reports whether a day (given as its midnight in Location) is
	// a public holiday. Nil: none. Holidays are skipped when counting CCPA
	// business days and, with WorkingDayRule, when a period ends.
	Holidays func(day time.Time) bool
	// WorkingDayRule: a period counted in calendar days or months that ends
	// on a Saturday, a Sunday or a holiday ends on the next working day
	// (Reg. 1182/71 Art. 3(4)). Default: on for the GDPR; off for the CCPA
	// (11 CCR §7021(b) counts calendar days; Cal. Code Civ. Proc. §§12–12a
	// may be read to extend them — turn it on if counsel so reads it).
	WorkingDayRule bool
	// ExtendFromReceipt (GDPR): the extended deadline is three months from
	// receipt instead of two months from the end of the first month. See
	// gdprClock for the reading; the default (false) is never later.
	ExtendFromReceipt bool
	// PauseWhileUnverified: the answer's clock starts when the person's
	// identity is verified instead of at receipt. Off by default for both:
	// CCPA §7021(b) says the 45 days begin at receipt "regardless of time
	// required to verify the request"; under the GDPR the month runs from
	// receipt (Art. 12(3)), though the EDPB (Guidelines 01/2022 on the right
	// of access, v2.1, §5.3) accepts that it waits for the information
	// needed to identify the person when the controller has asked for it
	// (Art. 12(6)) — turn it on for the GDPR only if requests stay
	// "received" solely while such information is awaited.
	PauseWhileUnverified bool
}

// Config holds the rules of every jurisdiction.
type Config struct {
	GDPR Rules
	CCPA Rules
}

// DefaultConfig returns the default rules of both jurisdictions.
func DefaultConfig() Config {
	return Config{GDPR: DefaultRules(GDPR), CCPA: DefaultRules(CCPA)}
}

// DefaultRules returns j's default rules: the controller in Paris (GDPR) or
// Los Angeles (CCPA), no holidays, the working-day rule for the GDPR only,
// no identity pause.
func DefaultRules(j Jurisdiction) Rules {
	return Rules{Location: defaultLocation(j), WorkingDayRule: j == GDPR}
}

// Rules returns j's rules (the zero Rules for an unknown jurisdiction).
func (c Config) Rules(j Jurisdiction) Rules {
	switch j {
	case GDPR:
		return c.GDPR
	case CCPA:
		return c.CCPA
	}
	return Rules{}
}

// Location returns the controller's zone under j.
func (c Config) Location(j Jurisdiction) *time.Location { return c.Rules(j).location(j) }

// Deadlines returns the clock of a request of type t received at received
// under j, with j's default rules and the controller in loc (nil: the
// default zone). It is the zero Clock for a type j does not know.
func Deadlines(j Jurisdiction, t Type, received time.Time, loc *time.Location) Clock {
	r := DefaultRules(j)
	if loc != nil {
		r.Location = loc
	}
	return r.Deadlines(j, t, received)
}

// Deadlines returns the clock of a request of type t received at received
// under j with these rules.
func (r Rules) Deadlines(j Jurisdiction, t Type, received time.Time) Clock {
	if !Supported(j, t) {
		return Clock{}
	}
	c := calendar{loc: r.location(j), holidays: r.Holidays}
	day := c.dayOf(received)
	if j == GDPR {
		return r.gdprClock(c, day)
	}
	return r.ccpaClock(c, t, day)
}

// gdprClock: Art. 12(3) — "within one month of receipt of the request.
// That period may be extended by two further months … The controller shall
// inform the data subject of any such extension within one month of receipt
// of the request". Counted per Reg. 1182/71: the day of receipt is not
// counted (Art. 3(1)); a month ends on the same-numbered day of the next
// month, or that month's last day if it has none (Art. 3(2)(c)); a period
// ending on a Saturday, Sunday or public holiday ends on the next working
// day (Art. 3(4), Rules.WorkingDayRule).
//
// Reading of the extension: the "two further months" follow the first and
// are counted from the day it ends, before any working-day shift — 31
// January 2026 → 28 February → 28 April. Counting three months from receipt
// (→ 30 April; Rules.ExtendFromReceipt) is the other reading; this one is
// never later, so it is the default.
func (r Rules) gdprClock(c calendar, received date) Clock {
	oneMonth := received.addMonths(1)
	extended := oneMonth.addMonths(2)
	if r.ExtendFromReceipt {
		extended = received.addMonths(3)
	}
	if r.WorkingDayRule {
		oneMonth, extended = c.nextWorkingDay(oneMonth), c.nextWorkingDay(extended)
	}
	due := c.end(oneMonth)
	return Clock{DueBy: due, ExtendedDueBy: c.end(extended), ExtendNoticeBy: due}
}

// ccpaClock: requests to know, delete and correct are confirmed within 10
// business days and answered within 45 calendar days after receipt, +45
// once with notice given within the first 45 (§7021(a)-(b); Civ. Code
// §1798.130(a)(2)); opt-outs of sale/sharing and limits on sensitive data
// are carried out within 15 business days from receipt (§7026(f),
// §7027(g)), with no extension. The day of receipt is not counted (Civ.
// Code §10).
func (r Rules) ccpaClock(c calendar, t Type, received date) Clock {
	if t == OptOutSaleSharing || t == LimitSensitive {
		return Clock{DueBy: c.end(c.addBusinessDays(received, 15))}
	}
	due, extended := received.addDays(45), received.addDays(90)
	if r.WorkingDayRule {
		due, extended = c.nextWorkingDay(due), c.nextWorkingDay(extended)
	}
	return Clock{
		ConfirmBy:      c.end(c.addBusinessDays(received, 10)),
		DueBy:          c.end(due),
		ExtendedDueBy:  c.end(extended),
		ExtendNoticeBy: c.end(due),
	}
}

func (r Rules) location(j Jurisdiction) *time.Location {
	if r.Location != nil {
		return r.Location
	}
	return defaultLocation(j)
}

func defaultLocation(j Jurisdiction) *time.Location {
	name := "Europe/Paris"
	if j == CCPA {
		name = "America/Los_Angeles"
	}
	loc, err := time.LoadLocation(name)
	if err != nil { // cannot happen: time/tzdata is embedded
		panic("rights: no time zone " + name + ": " + err.Error())
	}
	return loc
}

// date is a calendar day.
type date struct {
	y int
	m time.Month
	d int
}

// noon is the day at noon UTC, for calendar arithmetic free of zones.
func (d date) noon() time.Time { return time.Date(d.y, d.m, d.d, 12, 0, 0, 0, time.UTC) }

func dateOf(t time.Time) date {
	y, m, d := t.Date()
	return date{y, m, d}
}

func (d date) addDays(n int) date { return dateOf(d.noon().AddDate(0, 0, n)) }

// addMonths is the same-numbered day n months later, or that month's last
// day if it has none (Reg. 1182/71 Art. 3(2)(c)).
func (d date) addMonths(n int) date {
	first := time.Date(d.y, d.m+time.Month(n), 1, 12, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return date{first.Year(), first.Month(), min(d.d, last)}
}

func (d date) weekday() time.Weekday { return d.noon().Weekday() }

// calendar counts days in the controller's zone.
type calendar struct {
	loc      *time.Location
	holidays func(time.Time) bool
}

func (c calendar) dayOf(t time.Time) date { return dateOf(t.In(c.loc)) }

// end is the last instant of d in the controller's zone.
func (c calendar) end(d date) time.Time {
	return time.Date(d.y, d.m, d.d, 23, 59, 59, 999999999, c.loc)
}

func (c calendar) working(d date) bool {
	if wd := d.weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	return c.holidays == nil || !c.holidays(time.Date(d.y, d.m, d.d, 0, 0, 0, 0, c.loc))
}

// maxSkipped bounds the days a holiday calendar may skip in a row, so that
// a calendar with no working day cannot stall the clock.
const maxSkipped = 366

func (c calendar) nextWorkingDay(d date) date {
	for i := 0; i < maxSkipped && !c.working(d); i++ {
		d = d.addDays(1)
	}
	return d
}

// addBusinessDays is the n-th working day after d (d itself not counted).
func (c calendar) addBusinessDays(d date, n int) date {
	for skipped := 0; n > 0; {
		d = d.addDays(1)
		if c.working(d) || skipped >= maxSkipped {
			n, skipped = n-1, 0
		} else {
			skipped++
		}
	}
	return d
}
