package consent

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/consent/banner"
	"github.com/garde-privacy/garde/inventory"
)

// NoticeStore keeps the exact texts people were shown, by version and
// language, so that a record's notice hash can be matched to its text.
type NoticeStore interface {
	// CreateNotice stores a text unless (version, language) exists.
	CreateNotice(ctx context.Context, version int, lang, text, hash string, at time.Time) error
	// FindNotice returns the stored hash of (version, language).
	FindNotice(ctx context.Context, version int, lang string) (hash string, ok bool, err error)
}

// Languages are the languages notices are written in.
var Languages = []string{"en", "fr"}

// Notices checks and fills the notice of decisions.
type Notices struct {
	Inventory *inventory.Inventory
	Store     NoticeStore
	Clock     garde.Clock

	known sync.Map // noticeKey → hash: stored notices never change
}

type noticeKey struct {
	version int
	lang    string
}

// Ensure stores the current notice texts under the inventory's banner
// notice version. A text that changed under a version already stored is
// refused: the ledger's proofs would become ambiguous (bump
// banner.notice_version).
func (n *Notices) Ensure(ctx context.Context) error {
	v := n.Inventory.Banner.NoticeVersion
	for _, lang := range Languages {
		text, hash := banner.NoticeText(n.Inventory, lang), banner.NoticeHash(n.Inventory, lang)
		stored, ok, err := n.Store.FindNotice(ctx, v, lang)
		if err != nil {
			return err
		}
		if ok && stored != hash {
			return garde.Errorf(garde.EConflict, "the %s notice text changed but banner.notice_version is still %d: bump it in the inventory", lang, v)
		}
		if !ok {
			if err := n.Store.CreateNotice(ctx, v, lang, text, hash, n.Clock.Now()); err != nil {
				return err
			}
		}
	}
	return nil
}

// Fill checks the notice a decision names against the stored texts, or,
// when the caller names none (an API call), records the current one in the
// decision's language.
func (n *Notices) Fill(ctx context.Context, no *Notice) error {
	no.Language = strings.ToLower(no.Language)
	if len(no.Language) > 2 {
		no.Language = no.Language[:2]
	}
	if no.Language != "fr" {
		no.Language = "en"
	}
	if no.Hash == "" && no.Version == 0 {
		no.Version, no.Hash = n.Inventory.Banner.NoticeVersion, banner.NoticeHash(n.Inventory, no.Language)
		return nil
	}
	var stored string
	if h, ok := n.known.Load(noticeKey{no.Version, no.Language}); ok {
		stored = h.(string)
	} else {
		h, ok, err := n.Store.FindNotice(ctx, no.Version, no.Language)
		if err != nil {
			return err
		}
		if !ok {
			return garde.Errorf(garde.EInvalid, "notice version %d in %s is not one Garde has shown", no.Version, no.Language)
		}
		stored = h
		n.known.Store(noticeKey{no.Version, no.Language}, h)
	}
	if no.Hash == "" {
		no.Hash = stored
	} else if no.Hash != stored {
		return garde.Errorf(garde.EInvalid, "the notice hash does not match version %d in %s", no.Version, no.Language)
	}
	return nil
}
