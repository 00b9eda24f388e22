package web

import (
	"net/http"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/access"
)

type keyRow struct {
	ID, Name, Role, RoleName string
	Purposes                 []string
	Created, Expires, Used   time.Time
	Expired                  bool
}

type purposeOption struct{ Key, Name string }

type keysData struct {
	Keys          []keyRow
	Roles         []roleOption
	Purposes      []purposeOption
	DefaultExpiry string
	Done          string
}

// keyValidity is the expiry the creation form proposes.
const keyValidity = 90 * 24 * time.Hour

func (c *Console) keys(w http.ResponseWriter, r *http.Request) {
	ks, err := c.Keys.FindAPIKeys(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	lang, now := langOf(r), c.now()
	d := keysData{Roles: c.roleOptions(lang), DefaultExpiry: now.Add(keyValidity).UTC().Format(time.DateOnly),
		Done: done(r, "deleted")}
	for _, p := range c.Inventory.Purposes {
		d.Purposes = append(d.Purposes, purposeOption{p.Key, text(p.Name, lang)})
	}
	for _, k := range ks {
		d.Keys = append(d.Keys, keyRow{ID: k.ID, Name: k.Name, Role: k.Role, RoleName: c.roleName(k.Role, lang),
			Purposes: k.Purposes, Created: k.CreatedAt, Expires: k.ExpiresAt, Used: k.LastUsedAt,
			Expired: !k.ExpiresAt.IsZero() && now.After(k.ExpiresAt)})
	}
	c.Render(w, r, "keys.html", d)
}

type keyCreated struct {
	ID, Name, RoleName, Secret string
	Purposes                   []string
	Expires                    time.Time
}

// createKey issues a key for a role, narrowed to purposes that role
// allows, and shows its secret once.
func (c *Console) createKey(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		c.fail(w, r, garde.Errorf(garde.EInvalid, "the form could not be read"))
		return
	}
	role := c.Inventory.Role(r.PostFormValue("role"))
	if role == nil {
		c.fail(w, r, garde.Errorf(garde.EInvalid, "unknown role"))
		return
	}
	purposes := r.PostForm["purpose"]
	for _, p := range purposes {
		if !validKey(p) {
			c.fail(w, r, garde.Errorf(garde.EInvalid, "unknown purpose"))
			return
		}
	}
	set, err := c.Inventory.PurposeSetOf(purposes...)
	if err != nil {
		c.fail(w, r, garde.Errorf(garde.EInvalid, "unknown purpose"))
		return
	}
	if set&^role.Purposes != 0 {
		c.fail(w, r, garde.Errorf(garde.EInvalid, "the role does not allow every purpose chosen"))
		return
	}
	spec := access.APIKey{Name: r.PostFormValue("name"), Role: role.Key, Purposes: purposes}
	if e := r.PostFormValue("expires"); e != "" {
		day, err := time.Parse(time.DateOnly, e)
		if err != nil {
			c.fail(w, r, garde.Errorf(garde.EInvalid, "the expiry must be a date (YYYY-MM-DD)"))
			return
		}
		spec.ExpiresAt = day.Add(24*time.Hour - time.Second) // the end of that day, UTC
	}
	secret, k, err := access.IssueAPIKey(r.Context(), c.Keys, spec, c.now())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if !c.audited(w, r, ActionKeyCreate, map[string]string{"key": k.ID, "role": k.Role}) {
		return
	}
	c.Render(w, r, "key_created.html", keyCreated{ID: k.ID, Name: k.Name, RoleName: c.roleName(k.Role, langOf(r)),
		Secret: secret, Purposes: k.Purposes, Expires: k.ExpiresAt})
}

func (c *Console) deleteKey(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := c.Keys.DeleteAPIKey(r.Context(), id); err != nil {
		c.fail(w, r, err)
		return
	}
	if c.audited(w, r, ActionKeyDelete, map[string]string{"key": id}) {
		http.Redirect(w, r, "/console/keys?done=deleted", http.StatusSeeOther)
	}
}
