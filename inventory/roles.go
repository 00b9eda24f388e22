package inventory

import (
	"slices"

	"github.com/garde-privacy/garde"
)

// Role is what an operator may do: the purposes it may read personal data
// for (and through them the data categories those purposes use), and
// whether it administers Garde (operators, keys, inventory) or oversees it
// (the audit trail, alerts, requests).
type Role struct {
	Key      string
	Name     Text
	Purposes PurposeSet
	// Admin: manages operators, API keys and the configuration.
	Admin bool
	// Oversight: reads the audit trail, alerts, requests and the ledger (the
	// DPO and the security officer).
	Oversight bool
}

// The default roles, used when the file declares none.
const (
	RoleAdmin    = "admin"
	RoleDPO      = "dpo"
	RoleMarketer = "marketer"
	RoleAnalyst  = "analyst"
	RoleSupport  = "support"
	RoleSecurity = "security_officer"
)

// defaultRoles grants each default role the purposes of inv that fit it.
func defaultRoles(inv *Inventory) []*Role {
	var marketing, analysis, support, all PurposeSet
	for _, p := range inv.Purposes {
		all = all.With(p.Index)
		switch {
		case p.DirectMarketing || p.TargetedAdvertising || p.Key == "personalisation":
			marketing = marketing.With(p.Index)
		case p.Key == "analytics":
			analysis = analysis.With(p.Index)
		case p.Key == "support_request" || p.Key == "service":
			support = support.With(p.Index)
		}
	}
	return []*Role{
		{Key: RoleAdmin, Name: Text{EN: "Administrator", FR: "Administrateur"}, Purposes: support, Admin: true},
		{Key: RoleDPO, Name: Text{EN: "Data protection officer", FR: "Délégué à la protection des données"}, Purposes: all, Oversight: true},
		{Key: RoleMarketer, Name: Text{EN: "Marketer", FR: "Marketeur"}, Purposes: marketing},
		{Key: RoleAnalyst, Name: Text{EN: "Analyst", FR: "Analyste"}, Purposes: analysis},
		{Key: RoleSupport, Name: Text{EN: "Customer support", FR: "Service client"}, Purposes: support},
		{Key: RoleSecurity, Name: Text{EN: "Security officer", FR: "Responsable de la sécurité"}, Oversight: true},
	}
}

// Role returns the role named key, or nil.
func (inv *Inventory) Role(key string) *Role {
	i := slices.IndexFunc(inv.Roles, func(r *Role) bool { return r.Key == key })
	if i < 0 {
		return nil
	}
	return inv.Roles[i]
}

// roleList decodes the optional `roles:` section.
func (d *decoder) roleList(inv *Inventory, top object) {
	items := top.list("roles", false)
	if len(items) == 0 {
		inv.Roles = defaultRoles(inv)
		return
	}
	for i, n := range items {
		path := item("roles", d.itemKey(n), i)
		o := d.object(n, path, "key", "name", "purposes", "admin", "oversight")
		key := o.str("key", true)
		if key == "" {
			continue
		}
		if !purposeKeyRE.MatchString(key) {
			d.errorf(o.at("key"), path, "key-syntax", "role key %q: want lower-case letters, digits and _", garde.Truncate(key, 40))
			continue
		}
		if inv.Role(key) != nil {
			d.errorf(o.at("key"), path, "duplicate-role", "role %s is declared twice", key)
			continue
		}
		r := &Role{Key: key, Name: o.text("name", true), Admin: o.boolean("admin", false), Oversight: o.boolean("oversight", false)}
		keys, nodes := o.strs("purposes")
		for j, k := range keys {
			p := inv.purposes[k]
			if p == nil {
				d.errorf(nodes[j], item(join(path, "purposes"), "", j), "unknown-purpose", "unknown purpose %q", garde.Truncate(k, 40))
				continue
			}
			r.Purposes = r.Purposes.With(p.Index)
		}
		inv.Roles = append(inv.Roles, r)
	}
}

// CategoriesOf returns the keys of the categories the purposes may use:
// those of every declared field that serves one of them.
func (inv *Inventory) CategoriesOf(purposes PurposeSet) []string {
	seen := map[string]bool{}
	add := func(fs map[string]*Field) {
		for _, f := range fs {
			if f.Purposes&purposes != 0 && f.Category != nil {
				seen[f.Category.Key] = true
			}
		}
	}
	add(inv.Plan.Context)
	add(inv.Plan.Traits)
	add(inv.Plan.GroupTraits)
	if inv.Plan.Page != nil {
		add(inv.Plan.Page.Properties)
	}
	for _, e := range inv.Plan.Events {
		add(e.Properties)
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
