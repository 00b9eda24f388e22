package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/audit"
	"github.com/garde-privacy/garde/store"
	"github.com/garde-privacy/garde/vault"
)

func newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Verify and export the tamper-evident audit log"}
	cmd.AddCommand(newAuditVerify(), newAuditExport())
	return cmd
}

func newAuditVerify() *cobra.Command {
	var p paths
	var file string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check the whole audit chain and its signed checkpoints, and name the first bad entry (exit 1 if any)",
		Long: "Check the whole audit chain and its signed checkpoints, and name the first bad entry.\n" +
			"With --file, check an export (garde audit export) instead, e.g. a SIEM's copy.\n" +
			"Keep the last checkpoint it prints outside Garde: entries after it could be removed unnoticed.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			signer := &auditSigner{ctx: ctx, dir: p.data}
			defer signer.close()
			var rep audit.Report
			if file != "" {
				f, err := os.Open(file)
				if err != nil {
					return garde.Wrap(garde.EInvalid, err, "audit verify: opening the export")
				}
				defer f.Close()
				if rep, err = audit.VerifyExport(f, signer); err != nil {
					return err
				}
			} else {
				db, err := openAuditData(ctx, p.data)
				if err != nil {
					return err
				}
				defer db.Close()
				if rep, err = audit.Verify(ctx, store.NewAudit(db), signer); err != nil {
					return err
				}
			}
			if signer.err != nil { // a key that cannot be loaded is not a forged signature
				return signer.err
			}
			printAuditReport(cmd.OutOrStdout(), rep)
			if !rep.OK {
				return garde.Errorf(garde.EConflict, "the audit log does not verify: first bad entry %d", rep.FirstBad)
			}
			return nil
		},
	}
	p.register(cmd)
	cmd.Flags().StringVar(&file, "file", "", "check this export (JSON lines) instead of the database")
	return cmd
}

func newAuditExport() *cobra.Command {
	var p paths
	var since, format string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the audit log as JSON lines to stdout (for a SIEM), from the first entry at or after --since",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if format != "jsonl" {
				return garde.Errorf(garde.EInvalid, "--format: only jsonl is supported")
			}
			var from time.Time
			if since != "" {
				var err error
				if from, err = time.Parse(time.RFC3339, since); err != nil {
					return garde.Errorf(garde.EInvalid, "--since: want an RFC 3339 time, such as 2026-03-01T00:00:00Z")
				}
			}
			db, err := openAuditData(ctx, p.data)
			if err != nil {
				return err
			}
			defer db.Close()
			signer := &auditSigner{ctx: ctx, dir: p.data}
			defer signer.close()
			a := store.NewAudit(db)
			// Exporting the log is itself an administrative act: recorded
			// first, so that no export goes unrecorded.
			e := audit.Entry{Actor: audit.ActorSystem, Action: audit.ActionAuditExport, Outcome: audit.OutcomeOK,
				Detail: map[string]string{"via": "cli", "format": format}}
			if !from.IsZero() {
				e.Detail["since"] = from.UTC().Format(time.RFC3339)
			}
			if err := a.Append(ctx, &audit.Log{Signer: signer}, e); err != nil {
				return err
			}
			return audit.Export(ctx, a, cmd.OutOrStdout(), from)
		},
	}
	p.register(cmd)
	cmd.Flags().StringVar(&since, "since", "", "first entry time, RFC 3339 (default: the whole log)")
	cmd.Flags().StringVar(&format, "format", "jsonl", "output format: jsonl (one JSON object per line)")
	return cmd
}

// openAuditData opens the data database, which must exist.
func openAuditData(ctx context.Context, dir string) (*store.DB, error) {
	path := filepath.Join(dir, dataFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, garde.Errorf(garde.ENotFound, "%s: no Garde database here (see --data)", path)
	}
	return store.OpenSQLite(ctx, path, "data")
}

func printAuditReport(w io.Writer, rep audit.Report) {
	if rep.OK {
		fmt.Fprintf(w, "audit log: %d entries", rep.Entries)
		if rep.Entries > 0 {
			fmt.Fprintf(w, " (%d to %d)", rep.FirstSeq, rep.LastSeq)
		}
		fmt.Fprintf(w, ", %d checkpoints: OK\n", rep.Checkpoints)
	} else {
		fmt.Fprintf(w, "audit log: NOT OK: first bad entry %d: %s\n", rep.FirstBad, rep.Reason)
		fmt.Fprintf(w, "sound before it: %d entries, %d checkpoints\n", rep.Entries, rep.Checkpoints)
	}
	if rep.Entries > 0 {
		what := "last entry"
		if !rep.OK {
			what = "last sound entry"
		}
		fmt.Fprintf(w, "%s: seq %d, hash %s\n", what, rep.LastSeq, hex.EncodeToString(rep.LastHash))
	}
	if cp := rep.LastCheckpoint; cp != nil {
		fmt.Fprintf(w, "last checkpoint: seq %d, hash %s, %s, key %s\n", cp.Seq, hex.EncodeToString(cp.Hash),
			cp.Time.UTC().Format(time.RFC3339), cp.KeyID)
		if rep.OK {
			fmt.Fprintln(w, "Keep that line outside Garde: entries after the last checkpoint could be removed without this check noticing.")
		}
	}
}

// auditSigner is the vault's audit signer, opened on first use (a log
// without checkpoints needs no key). A failure to open it is kept in err, so
// that it is reported as such, not as a bad signature.
type auditSigner struct {
	ctx  context.Context
	dir  string
	once sync.Once
	s    *vault.Signer
	keys *store.DB
	err  error
}

func (a *auditSigner) load() error {
	a.once.Do(func() {
		if a.keys, a.err = store.OpenSQLite(a.ctx, filepath.Join(a.dir, keysFile), "keys"); a.err != nil {
			return
		}
		var v *vault.Vault
		v, a.err = openVault(a.ctx, a.keys, a.dir)
		if a.err == nil {
			a.s, a.err = v.Signer(a.ctx, vault.UseAudit)
		}
	})
	return a.err
}

func (a *auditSigner) Sign(msg []byte) (string, []byte, error) {
	if err := a.load(); err != nil {
		return "", nil, err
	}
	return a.s.Sign(msg)
}

func (a *auditSigner) Verify(kid string, msg, sig []byte) error {
	if err := a.load(); err != nil {
		return err
	}
	return a.s.Verify(kid, msg, sig)
}

func (a *auditSigner) close() {
	if a.keys != nil {
		a.keys.Close()
	}
}
