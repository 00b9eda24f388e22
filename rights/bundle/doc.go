// Package bundle answers the rights of access and portability (GDPR
// Art. 15 and 20, CCPA §1798.110 and §1798.130): it builds the copy of
// everything Garde holds about a person as one zip — data.json (the whole
// copy, one document), a CSV file per kind of data, a readable summary in
// the person's language (index.html) and a README — and hands it over once,
// through an expiring one-time link.
//
// What the copy holds: the profile (every stored trait, opened), every
// event (opened), the identities Garde recognises the person by (kinds and
// counts: only keyed hashes are stored), the consent ledger's records with
// their hashes, the person's past requests, the messages queued for
// destinations about them (Recipients), and every entry of the audit log
// that names them (who, with which role, when, what, for which purpose).
// The copy is the data held, not the data a purpose may read now: a trait
// whose purposes were refused since it was collected is still in it.
//
// Privacy rule: the copy is personal data. It is sealed at rest with the
// person's own data key, so that erasing the person also destroys a copy
// not yet taken; the link's token is stored only as its SHA-256; a copy is
// wiped from the database once taken or expired. Errors and logs name
// request and subject ids only, never a token or a value. Audit entries
// are disclosed without the other people they name, the caller's network
// address or their free-form detail.
package bundle
