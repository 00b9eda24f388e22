package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/garde-privacy/garde/store"
	"github.com/garde-privacy/garde/vault"
)

func newKeys() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage the master key and the signing keys"}
	var p paths
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Re-wrap every subject key under a new master key, without touching the data (stop garde serve first)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			keys, err := store.OpenSQLite(cmd.Context(), filepath.Join(p.data, keysFile), "keys")
			if err != nil {
				return err
			}
			defer keys.Close()
			path := filepath.Join(p.data, masterKeyFile)
			if err := vault.RotateKeyFile(cmd.Context(), store.NewKeys(keys), path); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Rotated: %s holds the new master key; the old one no longer opens the key store.\n", path)
			return nil
		},
	}
	p.register(rotate)
	cmd.AddCommand(rotate, newRotateSigning())
	return cmd
}

// newRotateSigning rotates a signing key: new receipts (or audit
// checkpoints, certificates, links) are signed with a fresh key; the old
// one is retired but stays published, so what it signed still verifies.
func newRotateSigning() *cobra.Command {
	var p paths
	var use string
	cmd := &cobra.Command{
		Use:   "rotate-signing",
		Short: "Start signing with a new Ed25519 key; what the old key signed stays verifiable (restart garde serve after)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			keys, err := store.OpenSQLite(ctx, filepath.Join(p.data, keysFile), "keys")
			if err != nil {
				return err
			}
			defer keys.Close()
			v, err := openVault(ctx, keys, p.data)
			if err != nil {
				return err
			}
			s, err := v.Signer(ctx, use)
			if err != nil {
				return err
			}
			old := s.Current().ID
			if err := s.Rotate(ctx); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: now signing with key %s; key %s is retired and still verifies.\n", use, s.Current().ID, old)
			return nil
		},
	}
	p.register(cmd)
	cmd.Flags().StringVar(&use, "use", vault.UseReceipts, "which key: receipts, audit, certificates or links")
	return cmd
}

// openVault opens the vault of a data directory with GARDE_MASTER_KEY or
// its key file.
func openVault(ctx context.Context, keys *store.DB, dir string) (*vault.Vault, error) {
	ks := store.NewKeys(keys)
	k, ok, err := vault.MasterKeyFromEnv()
	if err != nil {
		return nil, err
	}
	if ok {
		return vault.Open(ctx, k, ks, vault.Options{})
	}
	return vault.OpenKeyFile(ctx, ks, filepath.Join(dir, masterKeyFile), vault.Options{})
}
