package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	json "github.com/goccy/go-json"
	"github.com/spf13/cobra"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/audit"
	"github.com/garde-privacy/garde/jws"
	"github.com/garde-privacy/garde/rights"
	"github.com/garde-privacy/garde/store"
	"github.com/garde-privacy/garde/vault"
)

func newRightsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "rights", Short: "Erase a data subject with a signed certificate; verify erasure certificates"}
	cmd.AddCommand(newRightsErase(), newRightsVerifyCertificate())
	return cmd
}

func newRightsErase() *cobra.Command {
	var p paths
	var opts rights.EraseOptions
	var certOut, fromFile string
	cmd := &cobra.Command{
		Use:   "erase [SUBJECT...]",
		Short: "Erase data subjects now: destroy their keys, delete their rows, tell destinations, print signed certificates",
		Long: `Erase data subjects (each SUBJECT is a subject id; any subject merged into the same person erases the
whole person): their data keys are destroyed, so nothing sealed for them opens again from any copy of the
data, backups included; their events, traits, identities and subject rows are deleted and the write-ahead
logs truncated; destinations and vendors are told through the outbox (topic subject.erased); a signed
erasure certificate is printed for each person, and each erasure is written to the audit log. The consent
ledger, the audit log and request records are kept: they hold pseudonymous ids and hashes only.

Many subjects (arguments, or --from-file with one id per line, "-" for the standard input; blank lines and
lines starting with # are skipped) are erased in batches that share their transactions and checkpoints:
closing a shop's accounts, or a list sent by a controller.

Run it on a stopped instance, or restart a running one afterwards: a running server caches which subject
an identity belongs to, and holds the audit log's head.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			subjects, err := eraseList(cmd.InOrStdin(), args, fromFile)
			if err != nil {
				return err
			}
			inv, err := loadInventory(p.config, cmd.Flags().Changed("config"), newLogger(false))
			if err != nil {
				return err
			}
			data, err := openAuditData(ctx, p.data)
			if err != nil {
				return err
			}
			defer data.Close()
			keys, err := store.OpenSQLite(ctx, filepath.Join(p.data, keysFile), "keys")
			if err != nil {
				return err
			}
			defer keys.Close()
			v, err := openVault(ctx, keys, p.data)
			if err != nil {
				return err
			}
			certs, err := v.Signer(ctx, vault.UseCertificates)
			if err != nil {
				return err
			}
			auditSigner, err := v.Signer(ctx, vault.UseAudit)
			if err != nil {
				return err
			}
			e := &rights.Eraser{Data: store.NewErase(data), Keys: v, KeyStore: store.NewKeys(keys), Certs: certs,
				Clock: garde.SystemClock{}, Inventory: inv}
			results, err := e.EraseMany(ctx, subjects, opts)
			// the audit entries, one per person, appended together
			var entries []audit.Entry
			var tokens []string
			seen := map[string]bool{}
			for _, r := range results {
				if c := r.Certificate; c != nil && !seen[c.ID] {
					seen[c.ID] = true
					entries = append(entries, erasureEntry(c))
					tokens = append(tokens, r.Token)
				}
			}
			if len(entries) > 0 {
				if aerr := store.NewAudit(data).Append(ctx, &audit.Log{Signer: auditSigner}, entries...); aerr != nil {
					err = errors.Join(err, garde.Wrap(garde.EUnavailable, aerr, "erased, but could not write the audit log"))
				}
			}
			out := cmd.OutOrStdout()
			if len(subjects) == 1 && len(results) == 1 && results[0].Certificate != nil {
				b, _ := json.MarshalIndent(results[0].Certificate, "", "  ")
				fmt.Fprintf(out, "%s\n", b)
			}
			var failed []error
			for _, r := range results {
				if c := r.Certificate; c != nil {
					fmt.Fprintf(out, "erased %s (%d subjects, %d events); certificate %s\n", r.Subject, len(c.Members), c.Rows.Events, c.ID)
				}
				if r.Err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %v\n", r.Subject, r.Err)
					failed = append(failed, r.Err)
				}
			}
			if certOut != "" && len(tokens) > 0 {
				if werr := os.WriteFile(certOut, []byte(strings.Join(tokens, "\n")+"\n"), 0o644); werr != nil {
					err = errors.Join(err, garde.Wrap(garde.EUnavailable, werr, "erased, but could not write --cert-out: the certificates follow"))
					certOut = ""
				}
			}
			if certOut == "" {
				for _, t := range tokens {
					fmt.Fprintln(out, t)
				}
			}
			if err == nil && len(failed) > 0 {
				if len(failed) == 1 {
					return failed[0]
				}
				err = fmt.Errorf("%d of %d subjects were not erased (see above)", len(failed), len(subjects))
			}
			return err
		},
	}
	p.register(cmd)
	cmd.Flags().StringVar(&fromFile, "from-file", "", `read subject ids from this file, one a line ("-": standard input)`)
	cmd.Flags().BoolVar(&opts.Suppress, "suppress", false, "keep a minimal marker so that collection refuses the person from now on")
	cmd.Flags().StringVar(&opts.Reason, "reason", "", "why (written into the certificate: no personal data)")
	cmd.Flags().StringVar(&opts.Actor, "actor", "cli", "who erases (an operator id)")
	cmd.Flags().StringVar(&certOut, "cert-out", "", "write the certificates to this file (one a line) instead of printing them")
	return cmd
}

// maxEraseList bounds one run of `garde rights erase`.
const maxEraseList = 1_000_000

// eraseList reads the subjects to erase: the arguments, then the lines of
// fromFile ("-": in). Errors name the line, never its content beyond the
// shape of a subject id.
func eraseList(in io.Reader, args []string, fromFile string) ([]garde.SubjectID, error) {
	var out []garde.SubjectID
	for _, a := range args {
		out = append(out, garde.SubjectID(a))
	}
	if fromFile != "" {
		r := in
		if fromFile != "-" {
			f, err := os.Open(fromFile)
			if err != nil {
				return nil, garde.Wrap(garde.EInvalid, err, "cannot open --from-file")
			}
			defer f.Close()
			r = f
		}
		sc := bufio.NewScanner(r)
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if !garde.SubjectID(line).Valid() {
				return nil, garde.Errorf(garde.EInvalid, "%s line %d: not a subject id", fromFile, n)
			}
			if len(out) == maxEraseList {
				return nil, garde.Errorf(garde.EInvalid, "more than %d subjects in one run", maxEraseList)
			}
			out = append(out, garde.SubjectID(line))
		}
		if err := sc.Err(); err != nil {
			return nil, garde.Wrap(garde.EInvalid, err, "cannot read --from-file")
		}
	}
	if len(out) == 0 {
		return nil, garde.Errorf(garde.EInvalid, "name at least one subject (arguments or --from-file)")
	}
	return out, nil
}

// erasureEntry is the audit entry of one erasure.
func erasureEntry(c *rights.Certificate) audit.Entry {
	return audit.Entry{Actor: c.Actor, Action: audit.ActionErasure, Subjects: c.Members, Outcome: audit.OutcomeOK,
		Detail: map[string]string{"certificate": c.ID}}
}

func newRightsVerifyCertificate() *cobra.Command {
	var p paths
	var jwksSrc string
	cmd := &cobra.Command{
		Use:   "verify-certificate CERT",
		Short: "Verify a signed erasure certificate offline (CERT is the token, a file holding it, or - for stdin)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			token, err := readToken(cmd.InOrStdin(), args[0])
			if err != nil {
				return err
			}
			keys, err := certificateKeys(cmd.Context(), jwksSrc, p.data)
			if err != nil {
				return err
			}
			c, err := rights.VerifyCertificate(token, keys)
			if err != nil {
				return err
			}
			b, _ := json.MarshalIndent(c, "", "  ")
			fmt.Fprintf(cmd.OutOrStdout(), "%s\ncertificate %s: signature OK\n", b, c.ID)
			return nil
		},
	}
	p.register(cmd)
	cmd.Flags().StringVar(&jwksSrc, "jwks", "", "the certificates' public keys: a URL or a file (a JWKS); default: the keys of --data")
	return cmd
}

// certificateKeys loads the public keys erasure certificates are checked
// against: a JWKS from a URL or a file, or the vault's certificates keys.
func certificateKeys(ctx context.Context, src, dataDir string) (jws.KeyFinder, error) {
	return publicKeys(ctx, src, dataDir, vault.UseCertificates)
}
