// Package audit is Garde's tamper-evident record of every read and write of
// personal data and of every administrative act (roles, keys, inventory,
// exports, erasures).
//
// # Contract
//
// Log.Append writes entries inside the caller's transaction — the same one as
// the act it records — so an act and its entry are durable together or not
// at all. Each entry carries a sequence number (1, 2, 3 …, no gaps), the
// hash of the entry before it (Prev; 32 zero bytes before the first) and its
// own Hash, the SHA-256 of its canonical encoding (below), which covers Prev.
// Every CheckpointEvery entries (default 1000), or when CheckpointInterval
// (default 5 minutes) has passed since the last checkpoint — checked on
// append —, the log signs a Checkpoint of its head with Ed25519 (Signer).
// Verify walks the whole chain and names the first entry at which the
// stored log stops being consistent: an edited field, a removed, inserted or
// reordered entry, a forged checkpoint signature, or entries removed after a
// checkpoint that signed them.
//
// # Limits
//
// A hash chain is public: anyone who can write the database can recompute
// hashes. What such a writer cannot do is sign: any rewrite of an entry at or
// before the last checkpoint is caught. Entries after the last checkpoint
// can be removed (truncation) or forged and re-hashed at the tail without
// detection unless the head is compared with an external anchor: keep the
// last checkpoint that `garde audit verify` prints (or an export) outside the
// database. The unsigned tail is at most CheckpointEvery-1 entries, and
// none of it stays unsigned past CheckpointInterval once another append
// comes (or Log.Checkpoint runs, e.g. on shutdown). Deleting checkpoints
// themselves lowers assurance but is not detected.
//
// # Privacy rule
//
// An entry holds no personal data beyond pseudonymous subject ids. Actor is
// an operator id, "apikey:<id>", "source:<source key>" or "system", never an
// email or a name; Subjects are garde.SubjectID values (checked by Append);
// Detail holds ids, counts, keys and names of things (a role, a key id, a
// file name), never a personal value (no email, name, phone, address,
// trait value or free text a person wrote). Source is the network address of
// an operator or system caller; entries of acts whose caller is a person's
// own device (collection) leave it empty. Entries outlive the data they
// describe (erasure crypto-shreds the data, the ids stay meaningless) and
// therefore must not carry it.
//
// # Canonical encoding (version 1)
//
// So that a third party can re-implement verification, the hashed bytes of
// an entry are, in this order:
//
//	str("garde-audit-entry/v1")
//	i64(seq)
//	i64(time as Unix microseconds, UTC)
//	str(actor) str(role) str(action) str(purpose)
//	list(subjects) i64(subject_count) str(subject_digest)
//	list(categories)
//	str(request_id) str(source) str(outcome)
//	u32(number of detail pairs), then for each key in byte order: str(key) str(value)
//	str(prev)
//
// where str(x) is the 4-byte big-endian length of x followed by its bytes,
// list(xs) is the 4-byte big-endian count followed by str(x) for each x,
// i64 is 8 bytes big-endian two's complement and u32 4 bytes big-endian.
// Hash = SHA-256(those bytes). Subjects and categories are sorted (byte
// order) and free of duplicates. When an act touches more than MaxListed
// subjects, subjects is empty, subject_count is their number and
// subject_digest the lower-case hex SHA-256 of the sorted ids joined by "\n";
// otherwise subject_count is len(subjects) and subject_digest is empty.
//
// A checkpoint signs, with Ed25519, the UTF-8 bytes of
//
//	"garde-audit-checkpoint/v1\n" + decimal seq + "\n" + lower-case hex hash + "\n" + time
//
// where time is "2006-01-02T15:04:05.000000Z" (UTC, microseconds).
// TestCanonicalVector (chain_test.go) holds a worked example of both.
//
// # Export
//
// Export writes JSON lines (see Entry.MarshalJSON): one object per entry,
// with "kind":"audit.entry", hashes in lower-case hex and the time as
// above, and after an entry that a checkpoint signs, one object with
// "kind":"audit.checkpoint". VerifyExport checks such a file offline.
package audit
