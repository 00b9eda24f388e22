package main

import (
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/consent"
	"github.com/garde-privacy/garde/rights/verify"
)

func newServe() *cobra.Command {
	var p paths
	var listen string
	var debug bool
	var profile, tlsCert, tlsKey, webhook, publicURL, mailDir string
	var smtp consent.SMTPNotifier
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Collect, minimise, encrypt and store events (the main job)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if profile != "" {
				go serveProfiles(profile)
			}
			if os.Getenv("GOGC") == "" {
				setServerGC()
			}
			m := &Main{ConfigPath: p.config, ConfigExplicit: cmd.Flags().Changed("config"), DataDir: p.data, Listen: listen, Log: newLogger(debug),
				TLSCert: tlsCert, TLSKey: tlsKey, AlertWebhook: webhook, PublicURL: publicURL}
			if spec := os.Getenv("GARDE_SITE_KEYS"); spec != "" {
				keys, err := verify.ParseSiteKeys(os.Getenv("GARDE_SITE_ISSUER"), spec)
				if err != nil {
					return err
				}
				m.SiteKeys = &keys
			}
			switch {
			case smtp.Addr != "" && mailDir != "":
				return garde.Errorf(garde.EInvalid, "--smtp-addr and --mail-dir: choose one")
			case smtp.Addr != "":
				smtp.Password, smtp.RequireTLS = os.Getenv("GARDE_SMTP_PASSWORD"), true
				m.Notifier = &smtp
			case mailDir != "":
				m.Notifier = &consent.DirNotifier{Dir: mailDir, From: smtp.From}
			}
			return run(cmd, m)
		},
	}
	p.register(cmd)
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "address to listen on")
	cmd.Flags().StringVar(&tlsCert, "tls-cert", "", "serve HTTPS with this certificate (PEM); HSTS and secure cookies follow")
	cmd.Flags().StringVar(&tlsKey, "tls-key", "", "the private key (PEM) of --tls-cert")
	cmd.Flags().StringVar(&webhook, "alert-webhook", "", "POST insider-threat alerts to this URL, signed with GARDE_ALERT_WEBHOOK_SECRET")
	cmd.Flags().StringVar(&publicURL, "public-url", "", "the address people reach Garde at (links sent to guardians); default: the listener's")
	cmd.Flags().StringVar(&smtp.Addr, "smtp-addr", "", "mail submission server (host:port) for verification codes and guardian requests; STARTTLS required")
	cmd.Flags().StringVar(&smtp.From, "smtp-from", "", "sender address of verification codes and guardian requests")
	cmd.Flags().StringVar(&mailDir, "mail-dir", "", "development: write mail (verification codes, guardian links) as .eml files into this directory instead of sending it")
	cmd.Flags().StringVar(&smtp.Username, "smtp-user", "", "SMTP user name (password in GARDE_SMTP_PASSWORD)")
	cmd.Flags().StringVar(&profile, "pprof", "", "serve Go profiles (net/http/pprof) on this loopback address, e.g. 127.0.0.1:6060")
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

// serverGCPercent is the garbage collector's target for `garde serve`: the
// collection path allocates per request what it frees at the answer, and
// its live heap is small (~40 MB under load), so collecting half as often
// costs ~40 MB of memory and gives back CPU (+5–29 %, median +18 %, events/s
// in six interleaved bench/load.sh runs, with peak RSS ~215 MB, against
// ~255 MB at the default with SQLite's larger page caches). GOGC, when set,
// wins.
const serverGCPercent = 200

// setServerGC applies serverGCPercent (a function: the serve command's
// --debug flag shadows package debug there).
func setServerGC() { debug.SetGCPercent(serverGCPercent) }

// serveProfiles serves the Go runtime profiles on their own listener, never
// on the public one.
func serveProfiles(addr string) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	slog.Error("pprof listener stopped", "err", http.ListenAndServe(addr, mux))
}
