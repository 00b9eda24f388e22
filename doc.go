// Package garde holds the nouns every capability shares — subjects, purposes, the
// Error type and its codes, the Clock — and nothing else. Capabilities live in
// their own packages (inventory, vault, collect, store …) and speak to one another
// in these terms.
package garde
