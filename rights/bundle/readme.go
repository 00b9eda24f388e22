package bundle

// The README of a copy, in each language. {{generated}} and {{subject}}
// are replaced; lines end in CRLF in the zip (it opens in any editor).

const readmeEN = `A copy of your data
===================

Made on {{generated}}, for the person Garde knows as {{subject}} (an
opaque number that names no one).

The files
---------
index.html       A readable summary: what we hold about you and why, your
                 consent choices, who used your data. Open it in a browser.
data.json        The whole copy as one JSON document, for another service
                 to read (your right to data portability). Its "format"
                 field names the layout.
profile.csv      Your profile: one row per detail (trait, category,
                 purposes, value).
events.csv       One row per recorded event; properties and context as
                 JSON.
identities.csv   The kinds of identifiers we recognise you by and how many
                 (kept only as keyed hashes).
consents.csv     Every consent decision recorded in our ledger, with its
                 hash: the record is the proof of your decision.
requests.csv     The requests you made to us about your data.
accesses.csv     Every recorded use of your data: who, with which role,
                 when, what, for which purpose.
recipients.csv   The messages sent to our partners about you.

Reading the tables
------------------
The CSV files are UTF-8, comma-separated, with a header row. A cell that
starts with = + - @ or a tab begins with an apostrophe (') so that a
spreadsheet never runs it as a formula; data.json has the exact values.
Times are in UTC (RFC 3339).

This copy is personal data: keep it somewhere safe. The link you downloaded
it from worked once and no longer does.
`

const readmeFR = `Une copie de vos données
========================

Faite le {{generated}}, pour la personne que Garde connaît sous le numéro
{{subject}} (un numéro opaque qui ne nomme personne).

Les fichiers
------------
index.html       Un résumé lisible : ce que nous détenons sur vous et
                 pourquoi, vos choix de consentement, qui a utilisé vos
                 données. Ouvrez-le dans un navigateur.
data.json        Toute la copie en un document JSON, qu'un autre service
                 peut lire (votre droit à la portabilité). Son champ
                 "format" nomme sa structure.
profile.csv      Votre profil : une ligne par information (trait,
                 catégorie, finalités, valeur).
events.csv       Une ligne par événement enregistré ; propriétés et
                 contexte en JSON.
identities.csv   Les types d'identifiants par lesquels nous vous
                 reconnaissons, et combien (conservés uniquement sous forme
                 d'empreintes à clé).
consents.csv     Chaque décision de consentement de notre registre, avec
                 son empreinte : l'enregistrement est la preuve de votre
                 décision.
requests.csv     Les demandes que vous nous avez faites sur vos données.
accesses.csv     Chaque utilisation enregistrée de vos données : qui, avec
                 quel rôle, quand, quoi, pour quelle finalité.
recipients.csv   Les messages envoyés à nos partenaires à votre sujet.

Lire les tableaux
-----------------
Les fichiers CSV sont en UTF-8, séparés par des virgules, avec une ligne
d'en-tête. Une cellule qui commence par = + - @ ou une tabulation commence
par une apostrophe (') pour qu'un tableur ne l'exécute jamais comme une
formule ; data.json contient les valeurs exactes. Les heures sont en UTC
(RFC 3339).

Cette copie est une donnée personnelle : gardez-la en lieu sûr. Le lien qui
a servi à la télécharger ne fonctionnait qu'une fois et ne fonctionne plus.
`
