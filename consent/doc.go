// Package consent is Garde's consent capability: an append-only,
// hash-chained ledger of every consent decision per subject and purpose,
// the current state derived from it and answered in O(1), and the gate that
// the collection pipeline and every read apply.
//
// The ledger is the only source of truth. A record is never edited or
// deleted: a withdrawal, an expiry, an objection or an opt-out signal is a
// new record. Each record carries the proof a regulator asks for (after
// ISO/IEC TS 27560 and the Kantara consent receipt): the notice shown and
// the SHA-256 of its exact text, the language, the jurisdiction, the age
// assertion, the guardian for a minor, the signals present (GPC, TC string,
// GPP string), who collected it, and salted hashes — never the values — of
// the IP address and user agent. Records are chained: each one's hash covers
// its canonical encoding and the previous record's hash, so that
// VerifyChain names the first record edited, removed, inserted or moved.
//
// Privacy rule: records hold pseudonymous subject ids and hashes only; no
// e-mail, name or address ever enters the ledger, so that proving a consent
// never requires keeping the data it was about.
package consent
