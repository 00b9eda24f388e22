// Command garde is Garde's one binary: it collects customer events, keeps
// only what the data inventory declares, encrypts personal data per person,
// and stores it durably. Each verb lives in its own file.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRoot().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "garde:", publicError(err))
		os.Exit(1)
	}
}

// paths are the flags every verb that touches the data directory shares.
type paths struct {
	config string
	data   string
}

func (p *paths) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&p.config, "config", "garde.yaml", "the data inventory (privacy-as-code)")
	cmd.Flags().StringVar(&p.data, "data", "./garde-data", "the data directory (databases and the master key file)")
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "garde",
		Short:         "Garde — a customer data platform that keeps privacy risks under control by construction",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newInit(), newServe(), newDemo(), newInventory(), newKeys(), newVersion(), newConsentCmd(), newAuditCmd(), newRetentionCmd(), newRequestsCmd(), newRightsCmd(), newBackupCmd())
	return root
}
