package verify

import (
	"strconv"
	"strings"
	"time"
)

// mailLang is "fr" for "fr" (or "fr-…"), "en" otherwise.
func mailLang(lang string) string {
	if lang == "fr" || strings.HasPrefix(lang, "fr-") || strings.HasPrefix(lang, "fr_") {
		return "fr"
	}
	return "en"
}

// codeMail writes the message with the code, in lang. It says nothing about
// whether the person is known, nor about the request's content: only that
// someone asked to act on the data held under this address.
func codeMail(to, code, lang string, ttl time.Duration) Mail {
	minutes := strconv.Itoa(max(1, int(ttl/time.Minute)))
	if lang == "fr" {
		return Mail{To: to, Lang: "fr", Subject: "Votre code de vérification", Text: "Bonjour,\n\n" +
			"Quelqu'un, vous sans doute, a fait une demande au sujet des données personnelles liées à cette adresse. " +
			"Pour confirmer qu'elle est bien la vôtre, saisissez ce code sur la page de la demande :\n\n" +
			"    " + code + "\n\n" +
			"Il est valable " + minutes + " minutes, une seule fois.\n\n" +
			"Si vous n'avez rien demandé, ignorez ce message : rien ne sera fait sans ce code. " +
			"Ne communiquez ce code à personne ; nous ne vous le demanderons jamais par téléphone ni par courrier.\n"}
	}
	return Mail{To: to, Lang: "en", Subject: "Your verification code", Text: "Hello,\n\n" +
		"Someone, most likely you, made a request about the personal data linked to this address. " +
		"To confirm that the address is yours, type this code on the request's page:\n\n" +
		"    " + code + "\n\n" +
		"It works for " + minutes + " minutes, once.\n\n" +
		"If you did not ask for anything, ignore this message: nothing will be done without this code. " +
		"Do not share this code with anyone; we will never ask you for it by phone or by mail.\n"}
}
