package collect

import "strings"

// Normalise puts an email or phone number in the one form its blind index is
// computed from, so that "Ann@Example.com " and "ann@example.com" find the
// same subject. It returns "" for a value that is not one.
func Normalise(kind, s, country string) string {
	s = strings.TrimSpace(s)
	switch kind {
	case IdentityEmail:
		s = strings.ToLower(s)
		if at := strings.LastIndexByte(s, '@'); at <= 0 || at == len(s)-1 {
			return ""
		}
		return s
	case IdentityPhone:
		return normalisePhone(s, country)
	}
	return s
}

// callingCodes maps the organisation's country to its calling code, for
// national numbers written with a trunk prefix 0. Kept to the countries whose
// national format is "0 + significant number".
var callingCodes = map[string]string{
	"FR": "33", "DE": "49", "GB": "44", "IT": "39", "ES": "34", "BE": "32", "NL": "31",
	"CH": "41", "AT": "43", "IE": "353", "PT": "351", "SE": "46", "FI": "358", "PL": "48",
}

// normalisePhone returns the number in E.164 form (+ and digits), or "".
func normalisePhone(s, country string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i, c := range s {
		switch {
		case c >= '0' && c <= '9':
			b.WriteRune(c)
		case c == '+' && i == 0:
			b.WriteRune(c)
		case c == ' ' || c == '.' || c == '-' || c == '(' || c == ')':
		default:
			return ""
		}
	}
	n := b.String()
	switch {
	case strings.HasPrefix(n, "+"):
	case strings.HasPrefix(n, "00"):
		n = "+" + n[2:]
	case strings.HasPrefix(n, "0") && callingCodes[country] != "":
		n = "+" + callingCodes[country] + n[1:]
	case country == "US" && len(n) == 10:
		n = "+1" + n
	default:
		return ""
	}
	if d := len(n) - 1; d < 8 || d > 15 {
		return ""
	}
	return n
}
