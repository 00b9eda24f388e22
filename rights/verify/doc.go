// Package verify proves that the person behind a data-subject request is who
// the request is about, before anything is disclosed or deleted. It offers
// three mechanisms; the caller (the privacy centre, the operator API) picks
// one and records the outcome in the audit log.
//
// # One-time codes by email (Codes)
//
// Start sends a 6-digit code (crypto/rand, uniform) to the address the person
// gave; Check takes it back. A code lives 10 minutes, allows 5 wrong tries
// and is good once; a new code for the same request kills the previous one.
// Asking for codes is rate-limited per address and per IP, and wrong codes
// per IP, durably (SQLite) and race-free (each step is one write transaction
// on the single writer). Start neither knows nor asks whether anyone is known
// under the address: it always does the same work and sends the same mail,
// so that its answer and its timing say nothing about the person. Check
// answers a wrong, expired, used or unknown code with the same EInvalid
// "wrong or expired code", and ETooMany once the code's tries are used up.
// Nothing personal is kept in clear: the store holds an HMAC of the code, an
// HMAC of the address and of the IP for the limits, and the caller's opaque
// identity key (a blind index), which is cleared when the code is used.
//
// # Signed tokens from the brand's own site (Tokens)
//
// A brand whose customers are signed in on its own site can vouch for them:
// its server signs a short-lived token and sends the person to Garde with it
// (for example as a form field of a POST to the privacy centre). The format is
// a JSON Web Token (RFC 7519) in the compact JWS serialisation (RFC 7515):
//
//	BASE64URL(header) "." BASE64URL(claims) "." BASE64URL(signature)
//
// BASE64URL is the URL-safe alphabet of RFC 4648 §5 without padding ("=") and
// without white space; the signature is computed over the ASCII bytes of the
// first two parts and the dot between them. The whole token is at most 4,096
// bytes.
//
// The header is a JSON object (UTF-8, no duplicate names) with exactly these
// members, in any order:
//
//	"alg": "EdDSA"  Ed25519 (RFC 8037): a 64-byte signature; Garde holds the public key
//	       "HS256"  HMAC-SHA-256 (RFC 7518 §3.2): a 32-byte MAC; a shared secret of at least 32 random bytes
//	"typ": "JWT"    (optional, but "JWT" if present)
//	"kid": the key's id, as agreed with the Garde operator (1 to 128 printable ASCII characters, no spaces)
//
// Any other header member ("crit", "jwk", "jku", "x5u", "x5c", "b64", …) makes
// the token invalid, and so does "alg": "none". A key id names exactly one key
// of one kind: a token whose alg is not its key's kind is refused (no HS256
// token is ever checked against an Ed25519 public key).
//
// The claims are a JSON object (UTF-8, no duplicate names):
//
//	"iss"   string, required: the brand's issuer name, as configured in Garde (e.g. "https://shop.example")
//	"aud"   string, required: exactly "garde-privacy" (a string, not an array)
//	"sub"   string, required: the signed-in customer's userId, the same value the
//	        brand's SDKs send to Garde as Segment's userId (1 to 256 bytes)
//	"email" string, optional: the customer's email address, if the brand wants Garde to use it
//	"iat"   integer, required: issued-at, in seconds since 1970-01-01T00:00:00Z (no fractions)
//	"exp"   integer, required: expiry, in the same unit; later than iat and at most 600 s after it
//	"nbf"   integer, optional: not-before, in the same unit
//	"jti"   string, required: a unique id for this token (1 to 128 bytes), e.g. 16 random bytes in hex
//
// For example (before base64url, white space added):
//
//	{"alg":"EdDSA","typ":"JWT","kid":"shop-2026-03"}
//	{"iss":"https://shop.example","aud":"garde-privacy","sub":"cust-1","email":"ann@example.com",
//	 "iat":1772442000,"exp":1772442300,"jti":"5c0f8e0b6c2e4f3a9d1b7a64c2e0f915"}
//
// and the signature is ed25519.Sign(privateKey, signingInput) for EdDSA, or
// HMAC-SHA-256(secret, signingInput) for HS256, where signingInput is
// BASE64URL(header) "." BASE64URL(claims). Common JWT libraries produce this
// format (go-jose, jose for Node.js, PyJWT …) when given these claims, the
// kid header and one of the two algorithms.
//
// Other claims are ignored. Strings must not hold control characters. Garde
// accepts a token when its signature verifies under the key its kid names, its
// iss and aud match, iat and nbf are not in the future and exp is not in the
// past (each with a one-minute allowance for clock skew), and its jti has not
// been seen before: a token works once, and Garde remembers its jti (hashed
// with iss) until it expires. Mint one per visit, right before redirecting
// the person; never reuse, log or email it. SignSiteToken is a reference
// implementation of what the brand's server does. Every refusal is an EInvalid
// with a fixed message that quotes nothing from the token.
//
// # An operator's verification (Evidence)
//
// When neither works, an operator checks the person's identity by other means
// and records how: Evidence names the operator, the method and a short note,
// which must not hold personal data (no document numbers, no addresses).
package verify
