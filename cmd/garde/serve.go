package main

import (
	"log/slog"
	"os"

	"github.com/spf13/cobra"
)

func newServe() *cobra.Command {
	var p paths
	var listen string
	var debug bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Collect, minimise, encrypt and store events (the main job)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m := &Main{ConfigPath: p.config, ConfigExplicit: cmd.Flags().Changed("config"), DataDir: p.data, Listen: listen, Log: newLogger(debug)}
			return run(cmd, m)
		},
	}
	p.register(cmd)
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "address to listen on")
	cmd.Flags().BoolVar(&debug, "debug", false, "log every request (routes and statuses only)")
	return cmd
}

func newLogger(debug bool) *slog.Logger {
	level := slog.LevelInfo
	if debug {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// run opens m, serves until SIGINT/SIGTERM, and shuts down gracefully.
func run(cmd *cobra.Command, m *Main) error {
	ctx := cmd.Context()
	if err := m.Open(ctx); err != nil {
		return err
	}
	err := m.Wait(ctx)
	m.Log.Info("shutting down")
	if cerr := m.Close(ctx); err == nil {
		err = cerr
	}
	return err
}
