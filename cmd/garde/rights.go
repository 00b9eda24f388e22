package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	json "github.com/goccy/go-json"
	"github.com/spf13/cobra"

	"github.com/garde-privacy/garde"
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
	var certOut string
	cmd := &cobra.Command{
		Use:   "erase SUBJECT",
		Short: "Erase a data subject now: destroy their key, delete their rows, tell destinations, print the signed certificate",
		Long: `Erase a data subject (SUBJECT is a subject id; any subject merged into the same person erases the
whole person): their data keys are destroyed, so nothing sealed for them opens again from any copy of the
data, backups included; their events, traits, identities and subject rows are deleted and the write-ahead
logs truncated; destinations and vendors are told through the outbox (topic subject.erased); a signed
erasure certificate is printed. The consent ledger, the audit log and request records are kept: they hold
pseudonymous ids and hashes only.

Run it on a stopped instance, or restart a running one afterwards: a running server caches which subject
an identity belongs to.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
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
			e := &rights.Eraser{Data: store.NewErase(data), Keys: v, KeyStore: store.NewKeys(keys), Certs: certs,
				Clock: garde.SystemClock{}, Inventory: inv}
			c, token, err := e.Erase(ctx, garde.SubjectID(args[0]), opts)
			if c == nil {
				return err
			}
			b, _ := json.MarshalIndent(c, "", "  ")
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s\nerased %s (%d subjects, %d events); certificate %s:\n", b, c.Subject, len(c.Members), c.Rows.Events, c.ID)
			if certOut != "" {
				if werr := os.WriteFile(certOut, []byte(token+"\n"), 0o644); werr != nil {
					return garde.Wrap(garde.EUnavailable, werr, "erased, but could not write --cert-out: the certificate follows")
				}
			}
			fmt.Fprintln(out, token)
			return err
		},
	}
	p.register(cmd)
	cmd.Flags().BoolVar(&opts.Suppress, "suppress", false, "keep a minimal marker so that collection refuses the person from now on")
	cmd.Flags().StringVar(&opts.Reason, "reason", "", "why (written into the certificate: no personal data)")
	cmd.Flags().StringVar(&opts.Actor, "actor", "cli", "who erases (an operator id)")
	cmd.Flags().StringVar(&certOut, "cert-out", "", "also write the certificate to this file")
	return cmd
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
