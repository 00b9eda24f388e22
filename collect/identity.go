package collect

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/garde-privacy/garde"
)

// identityCache remembers which subject an identity resolves to and whether
// a subject is identified, so that the hot path does not query the identity
// table for every event. Only the writer changes identities, so the cache
// cannot go stale, except when a group commit fails: then it is purged.
// Request goroutines read it too (Writer.preseal), and epoch tells them
// whether what they read still holds: the writer bumps it after every change
// that may move an identity or a subject to another person (a merge, an
// erasure, a replaced identity, a purge). Adding what is new (a subject, an
// identity, what the database says) changes nothing anyone read.
type identityCache struct {
	ids      *lru.Cache[string, garde.SubjectID]
	subjects *lru.Cache[garde.SubjectID, subjectState]
	epoch    atomic.Uint64
}

type subjectState struct {
	canonical  garde.SubjectID
	identified bool
}

func newIdentityCache(size int) *identityCache {
	ids, _ := lru.New[string, garde.SubjectID](size)
	subjects, _ := lru.New[garde.SubjectID, subjectState](size)
	return &identityCache{ids: ids, subjects: subjects}
}

func (c *identityCache) purge() {
	c.ids.Purge()
	c.subjects.Purge()
	c.changed()
}

// canonical follows merges from s to the canonical subject, as state does,
// through the cache alone.
func (c *identityCache) canonical(s garde.SubjectID) (garde.SubjectID, bool) {
	for range 8 {
		st, ok := c.subjects.Peek(s)
		if !ok || st.canonical == "" {
			return "", false
		}
		if st.canonical == s {
			return s, true
		}
		s = st.canonical
	}
	return "", false
}

// changed says that a mapping read before may be wrong now. Call it after
// the change, so that a reader who sees the new epoch sees the change too.
func (c *identityCache) changed() { c.epoch.Add(1) }

// known returns the person every one of ids belongs to, as far as the cache
// knows, when that is one person and resolving the record would change
// nothing (no identity to add, no subject to create or merge): ok false
// otherwise, and the writer decides. Safe for concurrent use; it does not
// touch the caches' recency.
func (c *identityCache) known(ids []Identity) (subj garde.SubjectID, ok bool) {
	if len(ids) == 0 {
		return "", false
	}
	for _, id := range ids {
		s, ok := c.ids.Peek(idKey(id))
		if ok {
			s, ok = c.canonical(s)
		}
		if !ok || (subj != "" && s != subj) {
			return "", false
		}
		subj = s
	}
	return subj, true
}

// errSuppressed: the record names a person who was erased and asked not to
// be collected again; it is dropped.
var errSuppressed = errors.New("suppressed")

// resolver resolves the subjects of one group commit.
type resolver struct {
	tx    Tx
	cache *identityCache
	// created are the subjects created, and when (their last-seen time)
	created   []garde.SubjectID
	createdAt []time.Time
	merged    [][2]garde.SubjectID // (from, into), in order
	// absent holds the identities that prefetch found in no subject: a
	// look-up of one of them needs no query, until the resolver adds it or
	// the cache's epoch moves (a merge or a replaced identity may have
	// changed what prefetch saw)
	absent      map[string]struct{}
	absentEpoch uint64
}

// prefetch looks up at once the identities of recs that the cache does not
// know: those found join the cache, the others are noted absent. A group
// of new people costs a statement per 64 identities instead of one each.
func (r *resolver) prefetch(ctx context.Context, recs []*Record) error {
	var todo []Identity
	seen := map[string]struct{}{}
	for _, rec := range recs {
		for _, ids := range [2][]Identity{rec.IDs, rec.Previous} {
			for _, id := range ids {
				k := idKey(id)
				if _, dup := seen[k]; dup {
					continue
				}
				seen[k] = struct{}{}
				if !r.cache.ids.Contains(k) {
					todo = append(todo, id)
				}
			}
		}
	}
	if len(todo) == 0 {
		return nil
	}
	if r.absent == nil || r.absentEpoch != r.cache.epoch.Load() {
		r.absent, r.absentEpoch = make(map[string]struct{}, len(todo)), r.cache.epoch.Load()
	}
	for _, id := range todo {
		r.absent[idKey(id)] = struct{}{}
	}
	return r.tx.FindIdentities(ctx, todo, func(id Identity, s garde.SubjectID) {
		k := idKey(id)
		delete(r.absent, k)
		r.cache.ids.Add(k, s)
	})
}

func idKey(id Identity) string { return id.Kind + string(id.Hash) }

func (r *resolver) lookup(ctx context.Context, id Identity) (garde.SubjectID, error) {
	k := idKey(id)
	if s, ok := r.cache.ids.Get(k); ok {
		return s, nil
	}
	if _, ok := r.absent[k]; ok && r.absentEpoch == r.cache.epoch.Load() {
		return "", nil
	}
	s, err := r.tx.FindIdentity(ctx, id.Kind, id.Hash)
	if err != nil || s == "" {
		return "", err
	}
	r.cache.ids.Add(k, s)
	return s, nil
}

// state returns what is known of a subject, following merges to the
// canonical subject (a cached entry may name a subject merged since).
func (r *resolver) state(ctx context.Context, s garde.SubjectID) (subjectState, error) {
	for range 8 {
		st, ok := r.cache.subjects.Get(s)
		if !ok {
			canonical, identified, err := r.tx.FindSubject(ctx, s)
			if err != nil || canonical == "" {
				// "": erased since an identity was cached for it
				return subjectState{}, err
			}
			st = subjectState{canonical: canonical, identified: identified}
			r.cache.subjects.Add(s, st)
		}
		if st.canonical == s {
			return st, nil
		}
		s = st.canonical
	}
	return subjectState{}, garde.Errorf(garde.EInternal, "subject merge chain too long")
}

func (r *resolver) create(ctx context.Context, identified bool, now time.Time) (garde.SubjectID, error) {
	s := garde.NewSubjectID()
	if err := r.tx.CreateSubject(ctx, s, identified, now); err != nil {
		return "", err
	}
	r.created, r.createdAt = append(r.created, s), append(r.createdAt, now)
	r.cache.subjects.Add(s, subjectState{canonical: s, identified: identified})
	return s, nil
}

// resolve finds or creates the subject of a record. The strongest identity
// that is known decides; identities not yet known are attached to it; an
// anonymous subject met through a weaker identity is merged into it (the
// anonymous history joins the known person). Two identified subjects are
// never merged implicitly: only an alias call does that.
func (r *resolver) resolve(ctx context.Context, rec *Record) (garde.SubjectID, error) {
	var subj garde.SubjectID
	var st subjectState
	found := make([]garde.SubjectID, len(rec.IDs))
	for i, id := range rec.IDs {
		s, err := r.lookup(ctx, id)
		if err != nil {
			return "", err
		}
		if s == "" {
			continue
		}
		if st, err = r.state(ctx, s); err != nil {
			return "", err
		}
		if st.canonical == "" {
			r.cache.ids.Remove(idKey(id)) // the person was erased: unknown now
			r.cache.changed()
			continue
		}
		found[i] = st.canonical
		if subj == "" {
			subj = st.canonical
		}
	}
	hasUser := len(rec.IDs) > 0 && rec.IDs[0].Kind == IdentityUser
	switch {
	case subj == "":
		// a person Garde does not know: unless they were erased and asked
		// not to be collected again
		if sup, err := r.tx.Suppressed(ctx, rec.IDs); err != nil || sup {
			if err == nil {
				err = errSuppressed
			}
			return "", err
		}
		s, err := r.create(ctx, hasUser, rec.Received)
		if err != nil {
			return "", err
		}
		subj = s
	case hasUser && found[0] == "":
		// a new userId for a subject known until now by a weaker identity
		st, err := r.state(ctx, subj)
		if err != nil {
			return "", err
		}
		if st.identified {
			// that subject is another person already: the userId is a new one
			if subj, err = r.create(ctx, true, rec.Received); err != nil {
				return "", err
			}
			break
		}
		if err := r.tx.MarkIdentified(ctx, subj); err != nil {
			return "", err
		}
		r.cache.subjects.Add(subj, subjectState{canonical: subj, identified: true})
	}
	for i, id := range rec.IDs {
		switch other := found[i]; {
		case other == "":
			if err := r.tx.CreateIdentity(ctx, id.Kind, id.Hash, subj, rec.Received); err != nil {
				return "", err
			}
			r.cache.ids.Add(idKey(id), subj)
			delete(r.absent, idKey(id))
		case other != subj:
			if err := r.mergeAnonymous(ctx, other, subj); err != nil {
				return "", err
			}
		}
	}
	for _, id := range rec.Previous {
		other, err := r.lookup(ctx, id)
		if err != nil {
			return "", err
		}
		if other == "" {
			continue
		}
		st, err := r.state(ctx, other)
		if err != nil {
			return "", err
		}
		if st.canonical == "" {
			r.cache.ids.Remove(idKey(id))
			r.cache.changed()
			continue
		}
		if st.canonical != subj {
			if err := r.merge(ctx, st.canonical, subj); err != nil {
				return "", err
			}
		}
	}
	return subj, nil
}

// mergeAnonymous merges from into into when from is anonymous.
func (r *resolver) mergeAnonymous(ctx context.Context, from, into garde.SubjectID) error {
	st, err := r.state(ctx, from)
	if err != nil || st.identified {
		return err
	}
	return r.merge(ctx, from, into)
}

func (r *resolver) merge(ctx context.Context, from, into garde.SubjectID) error {
	if err := r.tx.MergeSubject(ctx, from, into); err != nil {
		return err
	}
	r.merged = append(r.merged, [2]garde.SubjectID{from, into})
	// subjects merged into from earlier follow from to into through state()
	target, err := r.state(ctx, into)
	if err != nil {
		return err
	}
	r.cache.subjects.Add(from, subjectState{canonical: into, identified: target.identified})
	r.cache.changed()
	return nil
}

// resolveWith gives jobs the resolver of their group commit.
func resolveWith(r *resolver) Resolve {
	return func(ctx context.Context, ids []Identity, received time.Time, create bool) (garde.SubjectID, error) {
		if create {
			s, err := r.resolve(ctx, &Record{IDs: ids, Received: received})
			if errors.Is(err, errSuppressed) {
				return "", nil // nobody: the job decides what that means
			}
			return s, err
		}
		for _, id := range ids {
			s, err := r.lookup(ctx, id)
			if err != nil || s == "" {
				if err != nil {
					return "", err
				}
				continue
			}
			st, err := r.state(ctx, s)
			return st.canonical, err
		}
		return "", nil
	}
}
