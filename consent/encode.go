package consent

import (
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"time"

	json "github.com/goccy/go-json"
)

// The encoders of the decision path, written by hand: a record's canonical
// encoding and stored body are built inside the collection writer's group
// commit, where every microsecond holds up the whole group, and the answer
// of POST /v1/consent is in every decision call. Each writes exactly what
// the JSON encoder would for the same value (encode_test.go holds them to
// it), so that old and new records hash and read alike.

// appendString appends s as a JSON string, as the JSON encoder writes it
// with HTML escaping off. Printable ASCII other than the quote and the
// backslash is copied as is; anything else is left to the encoder itself.
func appendString(b []byte, s string) []byte {
	if !plain(s) {
		q, err := json.MarshalWithOption(s, json.DisableHTMLEscape())
		if err != nil { // a string always encodes; keep the JSON valid anyway
			q = []byte(`""`)
		}
		return append(b, q...)
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// plain reports whether s is printable ASCII without a quote or a
// backslash: a JSON string as it is. It looks at eight bytes at a time (a
// receipt token is over a kilobyte).
func plain(s string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := binary.LittleEndian.Uint64([]byte(s[i : i+8]))
		below := (x - 0x20*ones) & ^x // a byte under 0x20 (or one of 0x80 and up, caught below)
		above := x | (x + ones)       // a byte of 0x7f and up (a carry only follows one)
		q, bs := x^('"'*ones), x^('\\'*ones)
		quote := (q - ones) & ^q
		slash := (bs - ones) & ^bs
		if (below|above|quote|slash)&highs != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// appendField appends key (the field's opening: `,"name":`, or `{"name":`
// for the first) and v as a JSON string.
func appendField(b []byte, key, v string) []byte { return appendString(append(b, key...), v) }

// appendOptString is appendField for a field left out when empty
// (omitempty).
func appendOptString(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	return appendField(b, key, v)
}

// field appends the separator and the key of a field ("," unless the
// object has just been opened).
func field(b []byte, key string) []byte {
	if c := b[len(b)-1]; c != '{' && c != '[' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, key...)
	return append(b, '"', ':')
}

// appendTime appends t as time.Time's MarshalJSON does (RFC 3339 with
// nanoseconds, in t's location).
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendStamp appends stamp(t) as a JSON string: UTC, or "" for the zero
// time.
func appendStamp(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, `""`...)
	}
	return appendTime(b, t.UTC())
}

func appendNotice(b []byte, n *Notice) []byte {
	b = append(b, `{"version":`...)
	b = strconv.AppendInt(b, int64(n.Version), 10)
	b = appendField(b, `,"hash":`, n.Hash)
	b = appendField(b, `,"language":`, n.Language)
	return append(b, '}')
}

func appendAge(b []byte, a *Age) []byte {
	b = appendField(b, `{"status":`, a.Status)
	if a.Years != 0 {
		b = append(b, `,"years":`...)
		b = strconv.AppendInt(b, int64(a.Years), 10)
	}
	b = appendOptString(b, `,"method":`, a.Method)
	return append(b, '}')
}

func appendSignals(b []byte, s *Signals) []byte {
	b = append(b, '{')
	if s.GPC {
		b = append(b, `"gpc":true`...)
	}
	if s.TCString != "" {
		b = appendString(field(b, "tcString"), s.TCString)
	}
	if s.GPPString != "" {
		b = appendString(field(b, "gppString"), s.GPPString)
	}
	return append(b, '}')
}

// appendCanonical appends the canonical encoding (see canonical).
func (r *Record) appendCanonical(b []byte) []byte {
	b = append(b, `{"v":1,"prev":"`...)
	b = hex.AppendEncode(b, r.Prev)
	b = append(b, `","seq":`...)
	b = strconv.AppendInt(b, r.Seq, 10)
	b = appendField(b, `,"id":`, r.ID)
	b = appendField(b, `,"subject":`, string(r.Subject))
	b = appendField(b, `,"purpose":`, r.Purpose)
	b = appendField(b, `,"decision":`, string(r.Decision))
	b = appendField(b, `,"legalBasis":`, r.LegalBasis)
	b = append(b, `,"explicit":`...)
	b = strconv.AppendBool(b, r.Explicit)
	b = append(b, `,"time":`...)
	b = appendStamp(b, r.Time)
	b = append(b, `,"expires":`...)
	b = appendStamp(b, r.Expires)
	b = appendField(b, `,"source":`, r.Source)
	b = append(b, `,"notice":`...)
	b = appendNotice(b, &r.Notice)
	b = appendField(b, `,"country":`, r.Country)
	b = appendField(b, `,"region":`, r.Region)
	b = append(b, `,"age":`...)
	b = appendAge(b, &r.Age)
	b = appendField(b, `,"guardian":`, r.Guardian)
	b = append(b, `,"signals":`...)
	b = appendSignals(b, &r.Signals)
	b = appendField(b, `,"collector":`, r.Collector)
	b = appendField(b, `,"ipHash":`, r.IPHash)
	b = appendField(b, `,"uaHash":`, r.UAHash)
	b = appendField(b, `,"receiptId":`, r.ReceiptID)
	return append(b, '}')
}

// AppendJSON appends the record's JSON, as the JSON encoder writes a Record
// (with HTML escaping off, and Expires left out when zero): the body the
// store keeps, read back with json.Unmarshal.
func (r *Record) AppendJSON(b []byte) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendInt(b, r.Seq, 10)
	b = appendField(b, `,"id":`, r.ID)
	b = appendField(b, `,"subject":`, string(r.Subject))
	b = appendField(b, `,"purpose":`, r.Purpose)
	b = appendField(b, `,"decision":`, string(r.Decision))
	b = appendField(b, `,"legalBasis":`, r.LegalBasis)
	if r.Explicit {
		b = append(b, `,"explicit":true`...)
	}
	b = append(b, `,"time":`...)
	b = appendTime(b, r.Time)
	if !r.Expires.IsZero() {
		b = append(b, `,"expires":`...)
		b = appendTime(b, r.Expires)
	}
	b = appendField(b, `,"source":`, r.Source)
	b = append(b, `,"notice":`...)
	b = appendNotice(b, &r.Notice)
	b = appendOptString(b, `,"country":`, r.Country)
	b = appendOptString(b, `,"region":`, r.Region)
	b = append(b, `,"age":`...)
	b = appendAge(b, &r.Age)
	b = appendOptString(b, `,"guardian":`, r.Guardian)
	b = append(b, `,"signals":`...)
	b = appendSignals(b, &r.Signals)
	b = appendField(b, `,"collector":`, r.Collector)
	b = appendOptString(b, `,"ipHash":`, r.IPHash)
	b = appendOptString(b, `,"uaHash":`, r.UAHash)
	b = appendOptString(b, `,"receiptId":`, r.ReceiptID)
	return append(b, '}')
}

// appendJSON appends the answer of POST /v1/consent, as the JSON encoder
// writes a PostAnswer.
func (a *PostAnswer) appendJSON(b []byte) []byte {
	b = appendField(b, `{"receiptId":`, a.ReceiptID)
	b = appendField(b, `,"receipt":`, a.Receipt)
	b = append(b, `,"records":`...)
	if a.Records == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range a.Records {
			r := &a.Records[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = appendField(b, `{"id":`, r.ID)
			b = appendField(b, `,"purpose":`, r.Purpose)
			b = appendField(b, `,"decision":`, string(r.Decision))
			if !r.Expires.IsZero() {
				b = append(b, `,"expires":`...)
				b = appendTime(b, r.Expires)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"state":`...)
	b = a.State.appendJSON(b)
	return append(b, '}')
}

// appendJSON appends the receipt's JSON as the JSON encoder writes a
// Receipt with HTML escaping off (what Sign signs; encode_test.go holds it
// to the encoder).
func (r *Receipt) appendJSON(b []byte) []byte {
	b = appendField(b, `{"version":`, r.Version)
	b = appendField(b, `,"consentReceiptID":`, r.ID)
	b = appendField(b, `,"iss":`, r.Issuer)
	b = appendField(b, `,"piiPrincipalId":`, string(r.Subject))
	b = append(b, `,"iat":`...)
	b = strconv.AppendInt(b, r.IssuedAt, 10)
	b = append(b, `,"consentTimestamp":`...)
	b = strconv.AppendInt(b, r.ConsentTimestamp, 10)
	b = appendField(b, `,"jurisdiction":`, r.Jurisdiction)
	b = appendField(b, `,"collectionMethod":`, r.CollectionMethod)
	b = appendOptString(b, `,"language":`, r.Language)
	b = append(b, `,"notice":`...)
	b = appendNotice(b, &r.Notice)
	b = append(b, `,"piiControllers":`...)
	if r.Controllers == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range r.Controllers {
			c := &r.Controllers[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = appendField(b, `{"piiController":`, c.Name)
			b = appendOptString(b, `,"contact":`, c.Contact)
			b = appendOptString(b, `,"email":`, c.Email)
			b = appendOptString(b, `,"country":`, c.Country)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"purposes":`...)
	if r.Purposes == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range r.Purposes {
			p := &r.Purposes[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = appendField(b, `{"purpose":`, p.Purpose)
			b = appendField(b, `,"decision":`, string(p.Decision))
			b = appendField(b, `,"consentType":`, p.ConsentType)
			b = appendField(b, `,"legalBasis":`, p.LegalBasis)
			b = appendOptString(b, `,"termination":`, p.Termination)
			b = appendField(b, `,"record":`, p.Record)
			b = appendField(b, `,"recordHash":`, p.RecordHash)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if r.Signals != nil {
		b = append(b, `,"signals":`...)
		b = appendSignals(b, r.Signals)
	}
	b = append(b, `,"sensitive":`...)
	b = strconv.AppendBool(b, r.Sensitive)
	return append(b, '}')
}
