// Package access decides who may act in Garde, and proves who they are.
//
// Machines use API keys (apikey.go): random secrets shown once, stored only as
// a SHA-256 hash, bound to a role, optionally narrowed to purposes, with an
// expiry and a last-used time.
//
// People — operators — use Auth, over an OperatorStore:
//
//   - passwords follow NIST SP 800-63B rev. 4 (CheckPassword): at least 15
//     characters as a single factor, 8 with TOTP, up to 256, NFKC-normalised,
//     no composition rules, refused when common or breached (an embedded
//     block-list), repetitive or containing the operator's email name; they
//     are stored as argon2id hashes in PHC format and rehashed when the
//     parameters change;
//   - TOTP (RFC 6238) is required for every role that reaches personal data
//     (Config.RequiresMFA), with one step of clock skew, no replay, and 10
//     single-use recovery codes; the TOTP secret is sealed (Sealer), never in
//     clear in the database;
//   - Login rate-limits per address and per account, locks an account after
//     10 consecutive failures for 15 minutes (after 100 until an administrator
//     unlocks it), and gives one error, at one cost, whatever failed;
//   - sessions hold a 256-bit token stored as a hash, end 12 hours after
//     sign-in or 30 minutes after last use, and carry an HMAC CSRF token;
//   - training records gate personal data: without a valid data-protection
//     training an operator may sign in but reads nothing personal.
//
// The privacy and security rule: no secret — password, token, TOTP secret,
// recovery code, API key — is ever stored in clear, logged or formatted
// (the types that hold one print only ids), and no public error message
// carries an email or a secret. Emails of operators are personal data too:
// they are compared lower-cased and never written to logs or messages.
package access
