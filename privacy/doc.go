// Package privacy is Garde's privacy centre, the pages at /privacy where a
// person sees what Garde holds and why (from the inventory), asks for a copy,
// a correction, a deletion, a restriction, an objection or an opt-out,
// proves their address with a one-time code, sees and changes their
// consents, downloads their data and follows their request.
//
// The pages are server-rendered, in French and English, with one stylesheet
// and no script at all. Every form carries a CSRF token (double submit,
// HMAC-bound to a per-browser cookie); a verified person holds a signed
// cookie bound to one request for 30 minutes. Answers never tell whether an
// address is known before the code has been typed, and nothing personal is
// logged. The work itself is the Backend's (Service over Garde's services).
package privacy
