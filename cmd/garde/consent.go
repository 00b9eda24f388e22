package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	json "github.com/goccy/go-json"
	"github.com/spf13/cobra"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/consent"
	"github.com/garde-privacy/garde/jws"
	"github.com/garde-privacy/garde/store"
	"github.com/garde-privacy/garde/vault"
)

func newConsentCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "consent", Short: "Verify consent receipts and the consent ledger; decode and encode TC strings"}
	cmd.AddCommand(newConsentVerify(), newConsentVerifyLedger(), newTCFCmd())
	return cmd
}

func newConsentVerify() *cobra.Command {
	var p paths
	var jwksSrc string
	cmd := &cobra.Command{
		Use:   "verify RECEIPT",
		Short: "Verify a signed consent receipt offline (RECEIPT is the token, a file holding it, or - for stdin)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			token, err := readToken(cmd.InOrStdin(), args[0])
			if err != nil {
				return err
			}
			keys, err := receiptKeys(cmd.Context(), jwksSrc, p.data)
			if err != nil {
				return err
			}
			r, err := consent.VerifyReceipt(token, keys)
			if err != nil {
				return err
			}
			b, _ := json.MarshalIndent(r, "", "  ")
			fmt.Fprintf(cmd.OutOrStdout(), "%s\nreceipt %s: signature OK\n", b, r.ID)
			return nil
		},
	}
	p.register(cmd)
	cmd.Flags().StringVar(&jwksSrc, "jwks", "", "the public keys: a URL (…/.well-known/jwks.json) or a file; default: the keys of --data")
	return cmd
}

// readToken reads a token given inline, in a file, or on stdin ("-").
func readToken(stdin io.Reader, arg string) (string, error) {
	if arg == "-" {
		b, err := io.ReadAll(io.LimitReader(stdin, jws.MaxTokenSize+1))
		return strings.TrimSpace(string(b)), err
	}
	if strings.Count(arg, ".") == 2 && !strings.ContainsAny(arg, "/\\") {
		return arg, nil
	}
	b, err := os.ReadFile(arg)
	if err != nil {
		return "", garde.Wrap(garde.EInvalid, err, "RECEIPT is neither a token nor a readable file")
	}
	return strings.TrimSpace(string(b)), nil
}

// receiptKeys loads the public keys receipts are checked against.
func receiptKeys(ctx context.Context, src, dataDir string) (jws.KeyFinder, error) {
	return publicKeys(ctx, src, dataDir, vault.UseReceipts)
}

// publicKeys loads the keys a signed token is checked against: a JWKS from
// a URL or a file (src), or else the vault's keys of one use in dataDir.
func publicKeys(ctx context.Context, src, dataDir, use string) (jws.KeyFinder, error) {
	switch {
	case strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://"):
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
		if err != nil {
			return nil, garde.Wrap(garde.EInvalid, err, "--jwks is not a valid URL")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, garde.Wrap(garde.EUnavailable, err, "could not fetch the JWKS")
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, garde.Errorf(garde.EUnavailable, "fetching the JWKS: status %d", resp.StatusCode)
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, jws.MaxJWKSSize+1))
		if err != nil {
			return nil, err
		}
		return jws.ParseJWKS(b)
	case src != "":
		b, err := os.ReadFile(src)
		if err != nil {
			return nil, garde.Wrap(garde.EInvalid, err, "could not read --jwks")
		}
		return jws.ParseJWKS(b)
	}
	keys, err := store.OpenSQLite(ctx, filepath.Join(dataDir, keysFile), "keys")
	if err != nil {
		return nil, err
	}
	defer keys.Close()
	v, err := openVault(ctx, keys, dataDir)
	if err != nil {
		return nil, err
	}
	s, err := v.Signer(ctx, use)
	if err != nil {
		return nil, err
	}
	return jws.KeySet(s.Keys()), nil
}

func newConsentVerifyLedger() *cobra.Command {
	var p paths
	cmd := &cobra.Command{
		Use:   "verify-ledger",
		Short: "Check the consent ledger's hash chain end to end and name the first record that does not verify",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := openAuditData(cmd.Context(), p.data)
			if err != nil {
				return err
			}
			defer db.Close()
			n, brk, err := consent.VerifyChain(cmd.Context(), store.NewConsent(db))
			if err != nil {
				return err
			}
			if brk != nil {
				fmt.Fprintf(cmd.OutOrStdout(), "consent ledger: NOT OK: first bad record: seq %d (%s): %s\n", brk.Seq, brk.ID, brk.Reason)
				return garde.Errorf(garde.EConflict, "the consent ledger does not verify from record %d", brk.Seq)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "consent ledger: %d records: OK\n", n)
			return nil
		},
	}
	p.register(cmd)
	return cmd
}
