// Package inventory is Garde's privacy-as-code: it loads, validates and lints
// the data map garde.yaml, which declares every data category the platform may
// hold, every purpose it may serve (with its GDPR Art. 6(1) legal basis and
// its retention), every source allowed to send events, and the tracking plan
// that ties each event property, context field and trait to a category and to
// purposes.
//
// The inventory is the collection pipeline's allow-list: nothing reaches
// storage that the inventory does not declare. It therefore denies by
// default. A category is personal unless it says `personal: false`; a field
// without a purpose is an error, not a field for every purpose; a purpose
// without a retention is an error; a special category (GDPR Art. 9) may only
// serve purposes based on explicit consent.
//
// Parse and Load decode the YAML strictly (an unknown key is an error) and
// report every problem with its file, line, column and dotted path, so that
// `garde inventory check` reads like a compiler. An *Inventory is returned
// only when no problem is an error; it is read-only from then on and safe for
// concurrent use.
//
// # Problems
//
// Each problem has a stable code. Errors, which make Parse return no
// inventory:
//
//   - the file: empty-document, multiple-documents, too-complex (aliases
//     expand beyond a bound), too-many-problems;
//   - the shape: wrong-type, unknown-key, missing-key, duplicate-key,
//     key-syntax, invalid-value, invalid-period, invalid-origin,
//     write-key-syntax, unsupported-version, missing-text, too-many-purposes;
//   - the references: unknown-category, unknown-purpose, duplicate-category,
//     duplicate-purpose, duplicate-source, duplicate-write-key;
//   - the privacy rules: field-no-purpose, event-no-purpose (an event with
//     neither purposes nor properties), purpose-no-retention,
//     sensitive-not-personal, special-category-basis (GDPR Art. 9(2)(a)),
//     special-category-targeting, child-targeting, direct-marketing-basis,
//     targeted-advertising-basis.
//
// Warnings: event-no-purpose (an event kept only through a property's
// purposes), explicit-consent-basis, purpose-unused, category-unused,
// channel-missing, dpo-missing (GDPR Art. 30(1)(a)), context-path-depth.
//
// # Paths
//
// Paths name map entries by their key and list items by their key in
// brackets: "purposes[email_marketing].retention.period",
// "tracking_plan.events.Order Completed.properties.email",
// "sources[web].write_key"; an item without a usable key is named by its
// index: "categories[3]".
package inventory
