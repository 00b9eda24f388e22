package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	json "github.com/goccy/go-json"
	"github.com/spf13/cobra"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/access"
	"github.com/garde-privacy/garde/consent"
	"github.com/garde-privacy/garde/gardetest"
	"github.com/garde-privacy/garde/store"
)

func newDemo() *cobra.Command {
	var data, listen string
	var people int
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Serve with the built-in example inventory and sample customers, to see Garde at work",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// no mail server on a demo machine: codes and guardian links
			// land as files in the data directory
			mailDir := filepath.Join(data, "mail")
			m := &Main{ConfigPath: "", DataDir: data, Listen: listen, Log: newLogger(false),
				Notifier: &consent.DirNotifier{Dir: mailDir, From: "Maison Lumière <privacy@maison-lumiere.example>"}}
			ctx := cmd.Context()
			if err := m.Open(ctx); err != nil {
				return err
			}
			secret, _, err := access.NewAPIKey(ctx, store.NewAPIKeys(m.Data), "demo admin", access.RoleAdmin, garde.SystemClock{}.Now())
			if err == nil {
				err = seed(ctx, "http://"+m.Addr(), people)
			}
			if err != nil {
				m.Close(ctx)
				return err
			}
			base := "http://" + m.Addr()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "\nGarde demo on %s — %d sample customers sent through the real pipeline.\n\n", base, people)
			fmt.Fprintf(out, "Admin API key (new at each start): %s\n\n", secret)
			fmt.Fprintf(out, "Read a customer back, decrypted, for a purpose your role grants (the read is audited):\n  curl -s -H 'Authorization: Bearer %s' '%s/v1/subjects?email=%s&purpose=service' | jq\n\n", secret, base, "camille.martin.1@example.com")
			fmt.Fprintf(out, "Their consent, and a withdrawal that hides their browsing at once:\n  curl -s -u demo-web-key: '%s/v1/consent?anonymousId=anon-demo-0001' | jq\n  curl -s -u demo-web-key: %s/v1/consent -d '{\"anonymousId\":\"anon-demo-0001\",\"decisions\":{\"analytics\":\"withdrawn\"}}' | jq\n\n", base, base)
			fmt.Fprintf(out, "The consent banner: %s/consent.js   Public keys for receipts: %s/.well-known/jwks.json\n\n", base, base)
			fmt.Fprintf(out, "Send an event (write key demo-web-key):\n  curl -s -u demo-web-key: %s/v1/track -d '{\"userId\":\"cust-1\",\"event\":\"Product Viewed\",\"properties\":{\"product_id\":\"LMP-204\",\"secret\":\"dropped\"}}'\n\n", base)
			fmt.Fprintf(out, "What the tracking plan refused:\n  curl -s -H 'Authorization: Bearer %s' %s/v1/inventory/violations | jq\n\n", secret, base)
			switch password, totpURL, _, err := m.srv.Auth.CreateFirstAdmin(ctx, "admin@demo.invalid"); {
			case err == nil:
				fmt.Fprintf(out, "The console: %s/console/login — admin@demo.invalid, password %s,\n  TOTP (add to an authenticator app) %s\n", base, password, totpURL)
				fmt.Fprintf(out, "  People (%s/console/people) reads a customer for a purpose once your data-protection\n  training is recorded: Training page, course data_protection.\n\n", base)
			case garde.ErrorCode(err) == garde.EConflict:
				fmt.Fprintf(out, "The console: %s/console/login (its admin was created by an earlier demo run; rm -rf %s for a new one)\n\n", base, data)
			default:
				m.Close(ctx)
				return err
			}
			fmt.Fprintf(out, "The privacy centre: %s/privacy — ask for a copy or an erasure as camille.martin.1@example.com;\n  the one-time code arrives as a file in %s (no mail is sent by the demo).\n", base, mailDir)
			fmt.Fprintf(out, "People's requests, for the DPO:\n  curl -s -H 'Authorization: Bearer %s' %s/v1/requests | jq\n\n", secret, base)
			fmt.Fprintf(out, "Metrics: %s/metrics — stop with Ctrl-C.\n", base)
			err = m.Wait(ctx)
			if cerr := m.Close(ctx); err == nil {
				err = cerr
			}
			return err
		},
	}
	cmd.Flags().StringVar(&data, "data", "./garde-demo", "the demo's data directory")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "address to listen on")
	cmd.Flags().IntVar(&people, "people", 50, "sample customers to send")
	return cmd
}

// seed sends sample customer journeys to the server over HTTP, as an SDK
// would: the demo goes through the same pipeline as real traffic.
func seed(ctx context.Context, base string, people int) error {
	g := gardetest.NewGenerator(uint64(time.Now().UnixNano()))
	g.Person() // keep cust-00000001 for the README's example look-up below
	var batch []map[string]any
	first := gardetest.Person{UserID: "cust-00000001", AnonymousID: "anon-demo-0001", FirstName: "Camille", LastName: "Martin",
		Email: "camille.martin.1@example.com", Phone: "+33 6 12 34 56 78", Street: "12 rue de la Paix", City: "Paris", Postcode: "75002"}
	persons := []gardetest.Person{first}
	for range people - 1 {
		persons = append(persons, g.Person())
	}
	for i, p := range persons {
		// the banner first: most accept, some accept only part, some refuse
		// (their browsing is then not stored; their orders are)
		c := g.Consent(p, "analytics", "personalisation", "email_marketing")
		switch i % 4 {
		case 2:
			c = g.Consent(p, "analytics")
		case 3:
			c["decisions"] = map[string]any{"analytics": "refused", "personalisation": "refused", "email_marketing": "refused"}
		}
		if err := post(ctx, base+"/v1/consent", c); err != nil {
			return err
		}
		batch = append(batch, g.Journey(p)...)
	}
	for len(batch) > 0 {
		n := min(len(batch), 100)
		if err := post(ctx, base+"/v1/batch", map[string]any{"batch": batch[:n]}); err != nil {
			return err
		}
		batch = batch[n:]
	}
	return nil
}

// post sends v with the web write key and wants 200.
func post(ctx context.Context, url string, v any) error {
	body, _ := json.Marshal(v)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	req.SetBasicAuth(gardetest.WebKey, "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("seeding the demo: %s answered %d", req.URL.Path, resp.StatusCode)
	}
	return nil
}
