package server

import (
	"embed"
	"maps"
	"net/http"
	"slices"
	"strings"

	json "github.com/goccy/go-json"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/inventory"
	"github.com/garde-privacy/garde/web"
)

//go:embed templates/*.html
var templates embed.FS

// peopleEvents is how many of a person's newest events the page shows.
const peopleEvents = 20

// addPeoplePage adds the console's People page: an operator finds one
// customer and reads their profile for a purpose of their role, under the
// rules of the API's purpose-bound reads (consent at read time, fields
// narrowed to the purpose's categories, every read and refusal audited
// under the operator's id). The page shows personal data: the console
// refuses it to an operator without valid data-protection training.
func (s *Server) addPeoplePage() error {
	c := s.Console
	if err := c.AddTemplates(templates, "templates/people.html"); err != nil {
		return err
	}
	c.AddMessages("en", web.Messages{
		"people.title": "People", "people.intro": "Find one customer and read what a purpose of your role may use: only if their consent (or another ground) holds now, only the fields that purpose uses. Every read is recorded in the audit log under your name.",
		"people.purpose": "Purpose", "people.by": "Find by", "people.value": "Value", "people.find": "Read",
		"people.by.email": "Email", "people.by.phone": "Phone", "people.by.userId": "Customer id (userId)", "people.by.subject": "Subject id",
		"people.notfound": "No customer matches.", "people.refused": "Refused: %s",
		"people.subject": "Subject", "people.traits": "Profile", "people.events": "Newest events",
		"people.field": "Field", "people.valueCol": "Value", "people.when": "When", "people.event": "Event", "people.properties": "Properties",
		"people.none": "Nothing this purpose may use.", "people.nopurpose": "Your role grants no purpose that reads personal data.",
	})
	c.AddMessages("fr", web.Messages{
		"people.title": "Personnes", "people.intro": "Trouvez un client et lisez ce qu’une finalité de votre rôle peut utiliser : seulement si son consentement (ou une autre base) vaut maintenant, seulement les champs que cette finalité utilise. Chaque lecture est inscrite au journal d’audit à votre nom.",
		"people.purpose": "Finalité", "people.by": "Chercher par", "people.value": "Valeur", "people.find": "Lire",
		"people.by.email": "E-mail", "people.by.phone": "Téléphone", "people.by.userId": "Identifiant client (userId)", "people.by.subject": "Identifiant de personne",
		"people.notfound": "Aucun client ne correspond.", "people.refused": "Refusé : %s",
		"people.subject": "Personne", "people.traits": "Profil", "people.events": "Derniers événements",
		"people.field": "Champ", "people.valueCol": "Valeur", "people.when": "Quand", "people.event": "Événement", "people.properties": "Propriétés",
		"people.none": "Rien que cette finalité puisse utiliser.", "people.nopurpose": "Votre rôle n’accorde aucune finalité qui lise des données personnelles.",
	})
	c.AddPage(web.Page{Path: "/console/people", Title: inventory.Text{EN: "People", FR: "Personnes"}, Personal: true},
		http.HandlerFunc(s.people))
	return nil
}

// peopleView is the People page's data.
type peopleView struct {
	Purposes []*inventory.Purpose // those of the operator's role
	Purpose  string
	Bys      []string // what a person may be found by
	By, Find string
	Searched bool
	NotFound bool
	Refused  string
	Subject  garde.SubjectID
	Traits   []field
	Events   []eventRow
}

type field struct{ Name, Value string }

type eventRow struct {
	When, Type, Name, Properties string
}

// people serves GET /console/people: the form, and with ?find= the read.
func (s *Server) people(w http.ResponseWriter, r *http.Request) {
	op, _ := s.Console.Operator(r)
	q := r.URL.Query()
	v := &peopleView{Purpose: q.Get("purpose"), By: q.Get("by"), Find: strings.TrimSpace(q.Get("find")),
		Bys: []string{collect.IdentityEmail, collect.IdentityPhone, collect.IdentityUser, "subject"}}
	if role := s.Inventory.Role(op.Role); role != nil {
		for _, p := range s.Inventory.Purposes {
			if role.Purposes.Has(p.Index) {
				v.Purposes = append(v.Purposes, p)
			}
		}
	}
	if v.By == "" {
		v.By = collect.IdentityEmail
	}
	if v.Find == "" {
		s.Console.Render(w, r, "people.html", v)
		return
	}
	v.Searched = true
	status := http.StatusOK
	if err := s.readPerson(r, op.ID, op.Role, v); err != nil {
		switch garde.ErrorCode(err) {
		case garde.ENotFound:
			v.NotFound, status = true, http.StatusNotFound
		case garde.EForbidden, garde.ENoConsent, garde.EInvalid:
			v.Refused, status = garde.ErrorMessage(err), garde.ErrorStatus(garde.ErrorCode(err))
		default:
			s.Log.Error("console: read a person", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
	}
	s.Console.RenderStatus(w, r, status, "people.html", v)
}

// readPerson finds v.Find and fills v with what v.Purpose may read of
// them, under the API's rules (readOne); refusals are audited as there.
func (s *Server) readPerson(r *http.Request, actor, role string, v *peopleView) error {
	sc, err := s.scopeFor(actor, role, v.Purpose, nil)
	if err != nil {
		return s.auditRefusal(r, &scope{actor: actor, role: s.Inventory.Role(role)}, "", err)
	}
	var id garde.SubjectID
	switch v.By {
	case "subject":
		if id = garde.SubjectID(v.Find); !id.Valid() {
			return garde.Errorf(garde.EInvalid, "not a subject id")
		}
	case collect.IdentityEmail, collect.IdentityPhone, collect.IdentityUser:
		if id, err = s.subjectBy(r.Context(), v.By, v.Find, v.By); err != nil {
			return err
		}
	default:
		return garde.Errorf(garde.EInvalid, "find by email, phone, user or subject")
	}
	p, err := s.readOne(r, sc, id, peopleEvents)
	if err != nil {
		return err
	}
	v.Subject = p.ID
	for _, name := range slices.Sorted(maps.Keys(p.Traits)) {
		v.Traits = append(v.Traits, field{name, display(p.Traits[name])})
	}
	for _, ev := range p.Events {
		v.Events = append(v.Events, eventRow{When: ev.Timestamp.UTC().Format("2006-01-02 15:04"), Type: ev.Type, Name: ev.Name, Properties: display(ev.Properties)})
	}
	return nil
}

// display is a value as the page shows it: a string as it is, anything
// else as JSON; the template escapes both.
func display(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.MarshalNoEscape(v)
	return string(b)
}
