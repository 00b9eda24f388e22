package bundle

import (
	"fmt"
	"strings"
	"time"

	"github.com/garde-privacy/garde/inventory"
)

// messages are the copy's texts, by language then key. Both languages
// have every key (a test checks it).
var messages = map[string]map[string]string{
	"en": {
		"title":            "Your data at %s",
		"intro":            "This is a copy of everything %s holds about you in its customer data platform, made on %s. It answers your request to access your data and to take it with you.",
		"files.title":      "What is in this file",
		"files.text":       "This page is a summary. Every detail is in the other files of the zip: data.json holds the whole copy as one document that another service can read; the CSV files hold the same data as tables that open in a spreadsheet.",
		"counts.title":     "In figures",
		"counts.traits":    "Details in your profile",
		"counts.events":    "Recorded events (orders, visits, …)",
		"counts.ids":       "Identifiers we recognise you by",
		"counts.consents":  "Consent decisions recorded",
		"counts.requests":  "Requests you made",
		"counts.recip":     "Messages sent to our partners about you",
		"counts.accesses":  "Recorded uses of your data",
		"counts.period":    "Events from %s to %s.",
		"held.title":       "What we hold, and why",
		"held.text":        "Each kind of data below is kept only for the purposes listed with it.",
		"held.kind":        "Kind of data",
		"held.count":       "How much",
		"held.why":         "Why we keep it",
		"held.traits":      "%d in your profile",
		"held.events":      "in %d events",
		"held.events.one":  "in %d event",
		"held.special":     "sensitive data",
		"held.none":        "We hold no data about you beyond the records below.",
		"purposes.title":   "Our purposes",
		"basis":            "legal basis: %s",
		"ids.title":        "How we recognise you",
		"ids.text":         "We keep each of these identifiers only as a keyed hash, never in clear: it lets us recognise you, and nothing else can be learnt from it. The values you gave us are in your profile.",
		"ids.kind":         "Identifier",
		"ids.count":        "Number",
		"ids.since":        "Since",
		"consents.title":   "Your consent choices",
		"consents.text":    "Your current choice for each purpose. Every decision is kept as a record of our ledger (consents.csv), with its hash: the record is the proof of your decision. The signed receipts you received at the time are not kept by us; each names the records it covers.",
		"consents.purpose": "Purpose",
		"consents.choice":  "Your choice",
		"consents.since":   "Since",
		"consents.until":   "Valid until",
		"consents.none":    "No consent decision has been recorded.",
		"requests.title":   "Your requests",
		"requests.type":    "Request",
		"requests.recv":    "Received",
		"requests.state":   "Status",
		"recip.title":      "Who we told",
		"recip.text":       "Messages sent to the services and partners that receive your data, for instance when you withdraw a consent or ask for erasure.",
		"recip.topic":      "Message",
		"recip.count":      "Number",
		"recip.last":       "Last",
		"recip.pending":    "%d not yet delivered",
		"recip.none":       "No message about you has been sent to a partner.",
		"acc.title":        "Who used your data",
		"acc.text":         "Every use of your data is recorded in a tamper-evident log: who (a member of staff by their staff number, an application, or our systems on their own), when, what, and for which purpose. Here grouped; each one is listed in accesses.csv.",
		"acc.who":          "Who",
		"acc.role":         "Role",
		"acc.what":         "What",
		"acc.why":          "For",
		"acc.count":        "Times",
		"acc.when":         "When",
		"acc.refused":      "%d refused",
		"acc.refused.one":  "%d refused",
		"actor.source":     "collection from our %s source",
		"actor.apikey":     "an application (key %s)",
		"actor.system":     "our systems, on their own",
		"acc.none":         "No use of your data has been recorded.",
		"acc.bulk":         "An act on more than 100 people at once (a campaign, an export) is recorded with their number and a digest of their ids rather than by name, so it cannot be listed here.",
		"contact":          "Questions about this copy: write to our data protection officer, %s (%s).",
		"contact.noemail":  "Questions about this copy: write to our data protection officer, %s.",
		"none":             "none",
		"all":              "all purposes",
		"undeclared":       "Data we no longer collect",
		"note.identities":  "identities: only keyed hashes (blind indexes) of identifiers are stored; the kinds and counts are listed, the clear values are in the profile.",
		"note.receipts":    "consents: signed receipts are handed over when a decision is made and not stored; each ledger record with its hash is the proof, and receipts name the records they cover.",
		"note.bulk":        "accesses: an act on more than 100 people at once is recorded by their number and a digest of their ids, not by name; such acts are not listed.",
		"readme":           readmeEN,
	},
	"fr": {
		"title":            "Vos données chez %s",
		"intro":            "Voici la copie de tout ce que %s détient sur vous dans sa plateforme de données clients, faite le %s. Elle répond à votre demande d'accès à vos données et de portabilité.",
		"files.title":      "Ce que contient ce fichier",
		"files.text":       "Cette page est un résumé. Tout le détail est dans les autres fichiers du zip : data.json contient toute la copie en un document qu'un autre service peut lire ; les fichiers CSV contiennent les mêmes données sous forme de tableaux qui s'ouvrent dans un tableur.",
		"counts.title":     "En chiffres",
		"counts.traits":    "Informations de votre profil",
		"counts.events":    "Événements enregistrés (commandes, visites…)",
		"counts.ids":       "Identifiants par lesquels nous vous reconnaissons",
		"counts.consents":  "Décisions de consentement enregistrées",
		"counts.requests":  "Demandes que vous avez faites",
		"counts.recip":     "Messages envoyés à nos partenaires à votre sujet",
		"counts.accesses":  "Utilisations de vos données enregistrées",
		"counts.period":    "Événements du %s au %s.",
		"held.title":       "Ce que nous détenons, et pourquoi",
		"held.text":        "Chaque type de données ci-dessous n'est conservé que pour les finalités indiquées en regard.",
		"held.kind":        "Type de données",
		"held.count":       "Combien",
		"held.why":         "Pourquoi nous les conservons",
		"held.traits":      "%d dans votre profil",
		"held.events":      "dans %d événements",
		"held.events.one":  "dans %d événement",
		"held.special":     "donnée sensible",
		"held.none":        "Nous ne détenons aucune donnée sur vous en dehors des registres ci-dessous.",
		"purposes.title":   "Nos finalités",
		"basis":            "base légale : %s",
		"ids.title":        "Comment nous vous reconnaissons",
		"ids.text":         "Nous ne conservons chacun de ces identifiants que sous forme d'empreinte à clé, jamais en clair : elle nous permet de vous reconnaître, et rien d'autre ne peut en être tiré. Les valeurs que vous nous avez données sont dans votre profil.",
		"ids.kind":         "Identifiant",
		"ids.count":        "Nombre",
		"ids.since":        "Depuis",
		"consents.title":   "Vos choix de consentement",
		"consents.text":    "Votre choix actuel pour chaque finalité. Chaque décision est conservée dans notre registre (consents.csv) avec son empreinte : l'enregistrement est la preuve de votre décision. Les reçus signés que vous avez reçus sur le moment ne sont pas conservés par nous ; chacun nomme les enregistrements qu'il couvre.",
		"consents.purpose": "Finalité",
		"consents.choice":  "Votre choix",
		"consents.since":   "Depuis",
		"consents.until":   "Valable jusqu'au",
		"consents.none":    "Aucune décision de consentement n'a été enregistrée.",
		"requests.title":   "Vos demandes",
		"requests.type":    "Demande",
		"requests.recv":    "Reçue le",
		"requests.state":   "État",
		"recip.title":      "Qui nous avons informé",
		"recip.text":       "Messages envoyés aux services et partenaires qui reçoivent vos données, par exemple quand vous retirez un consentement ou demandez l'effacement.",
		"recip.topic":      "Message",
		"recip.count":      "Nombre",
		"recip.last":       "Dernier",
		"recip.pending":    "%d pas encore remis",
		"recip.none":       "Aucun message à votre sujet n'a été envoyé à un partenaire.",
		"acc.title":        "Qui a utilisé vos données",
		"acc.text":         "Chaque utilisation de vos données est enregistrée dans un journal infalsifiable : qui (un membre du personnel par son matricule, une application, ou nos systèmes d'eux-mêmes), quand, quoi, et pour quelle finalité. Ici regroupées ; chacune est listée dans accesses.csv.",
		"acc.who":          "Qui",
		"acc.role":         "Rôle",
		"acc.what":         "Quoi",
		"acc.why":          "Pour",
		"acc.count":        "Fois",
		"acc.when":         "Quand",
		"acc.refused":      "%d refusées",
		"acc.refused.one":  "%d refusée",
		"actor.source":     "collecte depuis notre source %s",
		"actor.apikey":     "une application (clé %s)",
		"actor.system":     "nos systèmes, d'eux-mêmes",
		"acc.none":         "Aucune utilisation de vos données n'a été enregistrée.",
		"acc.bulk":         "Un acte portant sur plus de 100 personnes à la fois (une campagne, un export) est enregistré avec leur nombre et une empreinte de leurs identifiants plutôt que nommément ; il ne peut donc pas être listé ici.",
		"contact":          "Une question sur cette copie : écrivez à notre délégué à la protection des données, %s (%s).",
		"contact.noemail":  "Une question sur cette copie : écrivez à notre délégué à la protection des données, %s.",
		"none":             "aucune",
		"all":              "toutes les finalités",
		"undeclared":       "Données que nous ne collectons plus",
		"note.identities":  "identifiants : seules des empreintes à clé (index aveugles) des identifiants sont conservées ; leurs types et nombres sont listés, les valeurs en clair sont dans le profil.",
		"note.receipts":    "consentements : les reçus signés sont remis au moment de la décision et ne sont pas conservés ; chaque enregistrement du registre avec son empreinte est la preuve, et les reçus nomment les enregistrements qu'ils couvrent.",
		"note.bulk":        "utilisations : un acte portant sur plus de 100 personnes à la fois est enregistré par leur nombre et une empreinte de leurs identifiants, pas nommément ; ces actes ne sont pas listés.",
		"readme":           readmeFR,
	},
}

// labels name codes (legal bases, decisions, request types and states,
// identifier kinds, audit actions) in each language; a code without a
// label is shown as it is.
var labels = map[string]map[string]string{
	"en": {
		"consent": "consent", "contract": "contract", "legal_obligation": "legal obligation",
		"vital_interests": "vital interests", "public_task": "public task", "legitimate_interests": "legitimate interests",
		"given": "given", "refused": "refused", "withdrawn": "withdrawn", "expired": "expired", "objected": "objected",
		"opted_out": "opted out", "restricted": "processing restricted", "lifted": "restriction lifted",
		"access": "access", "portability": "portability", "rectification": "rectification", "erasure": "erasure",
		"restriction": "restriction", "objection": "objection", "opt_out_sale_sharing": "opt-out of sale or sharing",
		"limit_sensitive": "limit the use of sensitive data",
		"received":        "received", "verified": "identity verified", "in_progress": "in progress", "extended": "extended",
		"completed": "completed",
		"user":      "customer number", "anon": "device or browser identifier", "email": "e-mail address", "phone": "phone number",
		"subject.read": "read your data", "events.write": "recorded events", "consent.record": "recorded a consent decision",
		"export": "exported data", "subject.rectify": "corrected your data", "retention.run": "deleted expired data",
		"subject.erased": "you were erased", "consent.withdrawn": "a consent was withdrawn",
	},
	"fr": {
		"consent": "consentement", "contract": "contrat", "legal_obligation": "obligation légale",
		"vital_interests": "intérêts vitaux", "public_task": "mission d'intérêt public", "legitimate_interests": "intérêt légitime",
		"given": "donné", "refused": "refusé", "withdrawn": "retiré", "expired": "expiré", "objected": "opposition",
		"opted_out": "refus de la vente ou du partage", "restricted": "traitement limité", "lifted": "limitation levée",
		"access": "accès", "portability": "portabilité", "rectification": "rectification", "erasure": "effacement",
		"restriction": "limitation", "objection": "opposition", "opt_out_sale_sharing": "refus de la vente ou du partage",
		"limit_sensitive": "limitation de l'usage des données sensibles",
		"received":        "reçue", "verified": "identité vérifiée", "in_progress": "en cours", "extended": "prolongée",
		"completed": "traitée",
		"user":      "numéro client", "anon": "identifiant d'appareil ou de navigateur", "email": "adresse électronique", "phone": "numéro de téléphone",
		"subject.read": "lecture de vos données", "events.write": "enregistrement d'événements", "consent.record": "enregistrement d'une décision de consentement",
		"export": "export de données", "subject.rectify": "correction de vos données", "retention.run": "suppression de données expirées",
		"subject.erased": "vous avez été effacé·e", "consent.withdrawn": "un consentement a été retiré",
	},
}

// msg returns the text of key in lang, formatted with args.
func msg(lang, key string, args ...any) string {
	s, ok := messages[lang][key]
	if !ok {
		s = messages["en"][key]
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// count returns the text of key for n things: key + ".one" for one (and,
// in French, for none).
func count(lang, key string, n int) string {
	if n == 1 || n == 0 && lang == "fr" {
		if _, ok := messages[lang][key+".one"]; ok {
			key += ".one"
		}
	}
	return msg(lang, key, n)
}

// actor names who acted for people: an operator by their opaque id, an
// API key, a source, Garde itself.
func actor(lang, a string) string {
	switch {
	case a == "system":
		return msg(lang, "actor.system")
	case strings.HasPrefix(a, "source:"):
		return msg(lang, "actor.source", strings.TrimPrefix(a, "source:"))
	case strings.HasPrefix(a, "apikey:"):
		return msg(lang, "actor.apikey", strings.TrimPrefix(a, "apikey:"))
	}
	return a
}

// label names a code in lang, or returns it as it is.
func label(lang, code string) string {
	if l, ok := labels[lang][code]; ok {
		return l
	}
	return code
}

// text picks a text of the inventory in lang, then in English, then def.
func text(t inventory.Text, lang, def string) string {
	if lang == "fr" && t.FR != "" {
		return t.FR
	}
	if t.EN != "" {
		return t.EN
	}
	return def
}

var monthsFR = [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
	"octobre", "novembre", "décembre"}

// day writes a date for people: "2 March 2026" or "2 mars 2026".
func day(lang string, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.UTC()
	if lang == "fr" {
		return fmt.Sprintf("%d %s %d", t.Day(), monthsFR[t.Month()-1], t.Year())
	}
	return t.Format("2 January 2006")
}

// moment writes a date and time for people, in UTC.
func moment(lang string, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.UTC()
	if lang == "fr" {
		return fmt.Sprintf("%s à %s UTC", day(lang, t), strings.Replace(t.Format("15:04"), ":", " h ", 1))
	}
	return day(lang, t) + ", " + t.Format("15:04") + " UTC"
}

// categoryOf returns the inventory's category of key, or nil.
func categoryOf(inv *inventory.Inventory, key string) *inventory.Category {
	if inv == nil {
		return nil
	}
	return inv.Category(key)
}

// categoryName names a category for people in lang.
func categoryName(inv *inventory.Inventory, key, lang string) string {
	if key == Undeclared {
		return msg(lang, "undeclared")
	}
	if c := categoryOf(inv, key); c != nil {
		return text(c.Description, lang, key)
	}
	return key
}

// purposesOf lists the purposes of s in inventory order.
func purposesOf(inv *inventory.Inventory, s inventory.PurposeSet) []*inventory.Purpose {
	if inv == nil {
		return nil
	}
	var out []*inventory.Purpose
	for i, p := range inv.Purposes {
		if s.Has(i) {
			out = append(out, p)
		}
	}
	return out
}
