package garde

import "encoding/base64"

// DecodeBase64URL decodes unpadded base64url (RFC 4648 §5) strictly: only
// the 64 characters of the alphabet (encoding/base64 skips CR and LF even
// in strict mode) and no stray bits, so that every value has exactly one
// encoding — what tokens, cookies and JWS segments need to be compared
// or signed.
func DecodeBase64URL(s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return nil, false
		}
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return b, err == nil
}
