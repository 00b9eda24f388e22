package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/audit"
)

// Audit actions of the operator pages.
const (
	ActionOperatorCreate   = "operator.create"
	ActionRoleUpdate       = audit.ActionRoleUpdate
	ActionOperatorDisable  = "operator.disable"
	ActionOperatorEnable   = "operator.enable"
	ActionOperatorUnlock   = "operator.unlock"
	ActionKeyCreate        = audit.ActionKeyCreate
	ActionKeyDelete        = "apikey.delete"
	ActionTrainingRecord   = "training.record"
	ActionAuditVerify      = "audit.verify"
	ActionAlertAcknowledge = audit.ActionAlertAck // written by audit.Detector.Acknowledge
)

type operatorRow struct {
	ID, Email, Name, Role, RoleName string
	MFA, Locked, Disabled, Self     bool
	FailedLogins                    int
	Created                         time.Time
}

type roleOption struct{ Key, Name string }

type operatorsData struct {
	Operators []operatorRow
	Roles     []roleOption
	Done      string // message key of the act just done
}

func (c *Console) roleOptions(lang string) []roleOption {
	var out []roleOption
	for _, r := range c.Inventory.Roles {
		out = append(out, roleOption{r.Key, c.roleName(r.Key, lang)})
	}
	return out
}

// done is the notice of a redirect after an act: ?done=<known key>.
func done(r *http.Request, keys ...string) string {
	d := r.URL.Query().Get("done")
	for _, k := range keys {
		if d == k {
			return "done." + k
		}
	}
	return ""
}

func (c *Console) operators(w http.ResponseWriter, r *http.Request) {
	ops, err := c.Operators.FindOperators(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	lang, now, self := langOf(r), c.now(), viewerOf(r).op.ID
	d := operatorsData{Roles: c.roleOptions(lang), Done: done(r, "role", "disabled", "enabled", "unlocked")}
	for _, o := range ops {
		d.Operators = append(d.Operators, operatorRow{
			ID: o.ID, Email: o.Email, Name: o.Name, Role: o.Role, RoleName: c.roleName(o.Role, lang),
			MFA: o.MFAEnabled, Locked: o.Locked(now), Disabled: o.Disabled, Self: o.ID == self,
			FailedLogins: o.FailedLogins, Created: o.Created,
		})
	}
	c.Render(w, r, "operators.html", d)
}

type operatorCreated struct {
	ID, Email, Name, RoleName, Password string
}

// createOperator creates an operator and shows the initial password, once.
func (c *Console) createOperator(w http.ResponseWriter, r *http.Request) {
	role := r.PostFormValue("role")
	if c.Inventory.Role(role) == nil {
		c.fail(w, r, garde.Errorf(garde.EInvalid, "unknown role"))
		return
	}
	o, password, err := c.Auth.CreateOperator(r.Context(), r.PostFormValue("email"), r.PostFormValue("name"), role)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if !c.audited(w, r, ActionOperatorCreate, map[string]string{"operator": o.ID, "role": o.Role}) {
		return
	}
	c.Render(w, r, "operator_created.html", operatorCreated{ID: o.ID, Email: o.Email, Name: o.Name,
		RoleName: c.roleName(o.Role, langOf(r)), Password: password})
}

// notSelf refuses an administrator's act on their own account that could
// lock every administrator out.
func (c *Console) notSelf(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	if id == viewerOf(r).op.ID {
		c.errorPage(w, r, http.StatusConflict, "error.self")
		return "", false
	}
	return id, true
}

func (c *Console) setRole(w http.ResponseWriter, r *http.Request) {
	id, ok := c.notSelf(w, r)
	if !ok {
		return
	}
	role := r.PostFormValue("role")
	if c.Inventory.Role(role) == nil {
		c.fail(w, r, garde.Errorf(garde.EInvalid, "unknown role"))
		return
	}
	if err := c.Auth.SetRole(r.Context(), id, role); err != nil {
		c.fail(w, r, err)
		return
	}
	if c.audited(w, r, ActionRoleUpdate, map[string]string{"operator": id, "role": role}) {
		http.Redirect(w, r, "/console/operators?done=role", http.StatusSeeOther)
	}
}

func (c *Console) setDisabled(w http.ResponseWriter, r *http.Request) {
	id, ok := c.notSelf(w, r)
	if !ok {
		return
	}
	disable := r.PostFormValue("disabled") == "true"
	if err := c.Auth.SetDisabled(r.Context(), id, disable); err != nil {
		c.fail(w, r, err)
		return
	}
	action, notice := ActionOperatorEnable, "enabled"
	if disable {
		action, notice = ActionOperatorDisable, "disabled"
	}
	if c.audited(w, r, action, map[string]string{"operator": id}) {
		http.Redirect(w, r, "/console/operators?done="+notice, http.StatusSeeOther)
	}
}

func (c *Console) unlock(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := c.Auth.Unlock(r.Context(), id); err != nil {
		c.fail(w, r, err)
		return
	}
	if c.audited(w, r, ActionOperatorUnlock, map[string]string{"operator": id}) {
		http.Redirect(w, r, "/console/operators?done=unlocked", http.StatusSeeOther)
	}
}

// audited records an act just done; when the entry cannot be written it
// says so (500) and reports false.
func (c *Console) audited(w http.ResponseWriter, r *http.Request, action string, detail map[string]string) bool {
	if err := c.record(r, action, audit.OutcomeOK, detail); err != nil {
		c.fail(w, r, garde.Wrap(garde.EInternal, err, "the act was done but its audit entry could not be written"))
		return false
	}
	return true
}

// validKey accepts a purpose or role key from a form.
func validKey(s string) bool {
	return s != "" && len(s) <= 64 && strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == ""
}
