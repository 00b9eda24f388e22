package main

import (
	"fmt"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/inventory"
	"github.com/garde-privacy/garde/store"
)

func newInventory() *cobra.Command {
	cmd := &cobra.Command{Use: "inventory", Short: "Check the data inventory and see what it refused"}
	cmd.AddCommand(newInventoryCheck(), newInventoryViolations())
	return cmd
}

func newInventoryCheck() *cobra.Command {
	var p paths
	cmd := &cobra.Command{
		Use:   "check [file]",
		Short: "Validate and lint the inventory; problems name the file, line and field",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := p.config
			if len(args) == 1 {
				path = args[0]
			}
			inv, problems, err := inventory.Load(path)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, pr := range problems {
				fmt.Fprintln(out, pr.String())
			}
			if problems.HasErrors() {
				return garde.Errorf(garde.EInvalid, "%s: the inventory has errors", path)
			}
			fmt.Fprintf(out, "%s: ok (%d categories, %d purposes, %d sources, %d events)\n",
				path, len(inv.Categories), len(inv.Purposes), len(inv.Sources), len(inv.Plan.Events))
			return nil
		},
	}
	p.register(cmd)
	return cmd
}

func newInventoryViolations() *cobra.Command {
	var p paths
	var limit int
	cmd := &cobra.Command{
		Use:   "violations",
		Short: "List what the tracking plan refused or redacted, counted by source, event and field",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := store.OpenSQLite(cmd.Context(), filepath.Join(p.data, dataFile), "data")
			if err != nil {
				return err
			}
			defer db.Close()
			vs, err := db.FindViolations(cmd.Context(), limit)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "SOURCE\tEVENT\tFIELD\tKIND\tCOUNT\tLAST SEEN")
			for _, v := range vs {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\n", v.Source, v.Event, v.Field, v.Kind, v.Count, v.LastSeen.Format("2006-01-02 15:04:05"))
			}
			return w.Flush()
		},
	}
	p.register(cmd)
	cmd.Flags().IntVar(&limit, "limit", 100, "rows to show")
	return cmd
}
