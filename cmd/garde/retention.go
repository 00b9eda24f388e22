package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/retention"
	"github.com/garde-privacy/garde/store"
)

func newRetentionCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "retention", Short: "The retention clock: what expires next, and expiring it now"}
	var pp paths
	var days int
	plan := &cobra.Command{
		Use:   "plan",
		Short: "List what will expire within --days, by kind and purpose",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, closeFn, err := retentionClock(cmd, pp)
			if err != nil {
				return err
			}
			defer closeFn()
			lines, err := c.Plan(cmd.Context(), days)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "KIND\tPURPOSE\tTHEN\tCOUNT\tFIRST")
			for _, l := range lines {
				then := "delete"
				if l.Anonymise {
					then = "anonymise"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\n", l.Kind, l.Purpose, then, l.Count, l.First.UTC().Format(time.DateOnly))
			}
			return w.Flush()
		},
	}
	pp.register(plan)
	plan.Flags().IntVar(&days, "days", 30, "the horizon in days")

	var pr paths
	var dry bool
	run := &cobra.Command{
		Use:   "run",
		Short: "Delete (or anonymise) everything whose retention has ended; --dry-run only counts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, closeFn, err := retentionClock(cmd, pr)
			if err != nil {
				return err
			}
			defer closeFn()
			rep, err := c.Run(cmd.Context(), dry)
			if err != nil {
				return err
			}
			b, _ := json.Marshal(rep)
			fmt.Fprintln(cmd.OutOrStdout(), string(b))
			return nil
		},
	}
	pr.register(run)
	run.Flags().BoolVar(&dry, "dry-run", false, "count what would expire, change nothing")
	cmd.AddCommand(plan, run)
	return cmd
}

// retentionClock opens the data directory's database for the CLI (runs
// from the CLI are not audited by a running server: the server's hourly
// clock is).
func retentionClock(cmd *cobra.Command, p paths) (*retention.Clock, func(), error) {
	inv, err := loadInventory(p.config, cmd.Flags().Changed("config"), newLogger(false))
	if err != nil {
		return nil, nil, err
	}
	db, err := openAuditData(cmd.Context(), p.data)
	if err != nil {
		return nil, nil, err
	}
	return &retention.Clock{Inventory: inv, Store: store.NewRetention(db), Clock: garde.SystemClock{}}, func() { db.Close() }, nil
}
