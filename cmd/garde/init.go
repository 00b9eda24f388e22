package main

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/access"
	"github.com/garde-privacy/garde/inventory"
	"github.com/garde-privacy/garde/store"
	"github.com/garde-privacy/garde/vault"
)

func newInit() *cobra.Command {
	var p paths
	var adminEmail string
	cmd := &cobra.Command{
		Use:   "init [dir]",
		Short: "Write an example garde.yaml, create the data directory, its master key, the first admin API key and console administrator",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			if !cmd.Flags().Changed("config") {
				p.config = filepath.Join(dir, "garde.yaml")
			}
			if !cmd.Flags().Changed("data") {
				p.data = filepath.Join(dir, "garde-data")
			}
			return initialise(cmd, p, adminEmail)
		},
	}
	p.register(cmd)
	cmd.Flags().StringVar(&adminEmail, "admin-email", "admin@localhost.invalid", "the first console administrator's e-mail (their sign-in name)")
	return cmd
}

// initialise writes the inventory and creates the data directory. It
// refuses to overwrite anything.
func initialise(cmd *cobra.Command, p paths, adminEmail string) error {
	ctx := cmd.Context()
	out := cmd.OutOrStdout()
	keyPath := filepath.Join(p.data, masterKeyFile)
	for _, f := range []string{p.config, keyPath, filepath.Join(p.data, dataFile)} {
		if _, err := os.Stat(f); !errors.Is(err, fs.ErrNotExist) {
			return garde.Errorf(garde.EConflict, "%s already exists: garde init never overwrites", f)
		}
	}
	if err := os.MkdirAll(filepath.Dir(p.config), 0o755); err != nil {
		return err
	}
	example := inventory.RenderExample(func(c inventory.Channel) string { return string(c) + "_" + randomKey() })
	if err := os.WriteFile(p.config, example, 0o644); err != nil {
		return err
	}
	if err := os.MkdirAll(p.data, 0o700); err != nil {
		return err
	}
	master, err := vault.CreateMasterKeyFile(keyPath)
	if err != nil {
		return err
	}
	keys, err := store.OpenSQLite(ctx, filepath.Join(p.data, keysFile), "keys")
	if err != nil {
		return err
	}
	defer keys.Close()
	v, err := vault.Open(ctx, master, store.NewKeys(keys), vault.Options{})
	if err != nil {
		return err
	}
	data, err := store.OpenSQLite(ctx, filepath.Join(p.data, dataFile), "data")
	if err != nil {
		return err
	}
	defer data.Close()
	secret, _, err := access.NewAPIKey(ctx, store.NewAPIKeys(data), "bootstrap admin", access.RoleAdmin, garde.SystemClock{}.Now())
	if err != nil {
		return err
	}
	auth, _, err := operatorAuth(v, data, garde.SystemClock{})
	if err != nil {
		return err
	}
	password, totpURL, recovery, err := auth.CreateFirstAdmin(ctx, adminEmail)
	if err != nil {
		return err
	}
	inv, _, err := inventory.Parse(p.config, example)
	if err != nil || inv == nil {
		return fmt.Errorf("the example inventory does not parse: %v", err)
	}
	fmt.Fprintf(out, "Wrote %s (the data inventory: edit it, then `garde inventory check`).\n", p.config)
	fmt.Fprintf(out, "Created %s with the master key %s (mode 0600).\n", p.data, keyPath)
	fmt.Fprintf(out, "  Keep a copy of the master key apart from the data: without it nothing can be read.\n\n")
	fmt.Fprintf(out, "Admin API key (shown once, stored only as a hash):\n  %s\n\n", secret)
	fmt.Fprintf(out, "First console admin (shown once): sign in at /console/login\n  e-mail    %s\n  password  %s\n  TOTP      %s\n  recovery  %s\n\n",
		adminEmail, password, totpURL, strings.Join(recovery, " "))
	fmt.Fprintf(out, "Write keys, one per source:\n")
	for _, s := range inv.Sources {
		fmt.Fprintf(out, "  %-8s %s\n", s.Key, s.WriteKey)
	}
	fmt.Fprintf(out, "\nStart with: garde serve --config %s --data %s\n", p.config, p.data)
	return nil
}

func randomKey() string {
	var b [20]byte
	rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}
