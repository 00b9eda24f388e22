package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/garde-privacy/garde/store"
	"github.com/garde-privacy/garde/vault"
)

func newKeys() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage the master key"}
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
	cmd.AddCommand(rotate)
	return cmd
}
