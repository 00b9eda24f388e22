package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/rights"
	"github.com/garde-privacy/garde/store"
)

func newRequestsCmd() *cobra.Command { return newRequestsCmdAt(garde.SystemClock{}) }

// newRequestsCmdAt is newRequestsCmd on a given clock (tests inject one).
func newRequestsCmdAt(clock garde.Clock) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "requests",
		Short: "The queue of data-subject requests and their legal deadlines: list, show, extend, refuse, complete",
		Long: "The queue of data-subject requests (access, portability, rectification, erasure, restriction,\n" +
			"objection, CCPA opt-outs) with their legal deadlines, which are dates in the controller's zone\n" +
			"(GDPR Art. 12(3): one month, +2 months; CCPA §7021/§7026: 10 business days to confirm, 45 days, +45,\n" +
			"15 business days for opt-outs).",
	}
	cmd.AddCommand(newRequestsList(clock), newRequestsShow(clock),
		newRequestsAct(clock, "extend", "Extend a request once, with the reasons to tell the person (GDPR: within the first month)", true),
		newRequestsAct(clock, "refuse", "Refuse a request, with the reason to tell the person", true),
		newRequestsAct(clock, "complete", "Record that a request was answered", false))
	return cmd
}

// withRequests runs fn with the request service of the data directory.
func withRequests(ctx context.Context, p paths, clock garde.Clock, fn func(*rights.Service) error) error {
	db, err := openAuditData(ctx, p.data)
	if err != nil {
		return err
	}
	defer db.Close()
	return fn(rights.NewService(store.NewRequests(db), clock))
}

func newRequestsList(clock garde.Clock) *cobra.Command {
	var p paths
	var f rights.ListFilter
	var state, typ string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List requests, oldest first (--overdue: only those past their deadline)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.State, f.Type = rights.State(state), rights.Type(typ)
			return withRequests(cmd.Context(), p, clock, func(s *rights.Service) error {
				rs, err := s.List(cmd.Context(), f)
				if err != nil {
					return err
				}
				now := clock.Now()
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "ID\tTYPE\tLAW\tSTATE\tRECEIVED\tDUE\tOVERDUE")
				for _, r := range rs {
					overdue := ""
					if r.Overdue(now) {
						overdue = "OVERDUE"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Type, r.Jurisdiction, r.State,
						r.Received.In(r.DueBy.Location()).Format(time.DateOnly), requestDate(r.Deadline()), overdue)
				}
				return w.Flush()
			})
		},
	}
	p.register(cmd)
	cmd.Flags().BoolVar(&f.Overdue, "overdue", false, "only requests still unanswered after their deadline")
	cmd.Flags().StringVar(&state, "state", "", "only requests in this state: "+joinStates())
	cmd.Flags().StringVar(&typ, "type", "", "only requests of this type")
	cmd.Flags().IntVar(&f.Limit, "limit", 0, "at most this many (0: all)")
	return cmd
}

func newRequestsShow(clock garde.Clock) *cobra.Command {
	var p paths
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show a request: its deadlines and every step it took",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withRequests(cmd.Context(), p, clock, func(s *rights.Service) error {
				r, err := s.Find(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				printRequest(cmd.OutOrStdout(), r, clock.Now())
				return nil
			})
		},
	}
	p.register(cmd)
	return cmd
}

// newRequestsAct is one of extend, refuse and complete.
func newRequestsAct(clock garde.Clock, verb, short string, withReason bool) *cobra.Command {
	var p paths
	var reason string
	cmd := &cobra.Command{
		Use:   verb + " ID",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return withRequests(ctx, p, clock, func(s *rights.Service) error {
				var r rights.Request
				var err error
				switch verb {
				case "extend":
					r, err = s.Extend(ctx, args[0], strings.TrimSpace(reason))
				case "refuse":
					r, err = s.Refuse(ctx, args[0], strings.TrimSpace(reason))
				default:
					r, err = s.Complete(ctx, args[0])
				}
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				switch r.State {
				case rights.StateExtended:
					fmt.Fprintf(out, "request %s extended: now due by %s; tell the person, with the reasons, by %s\n",
						r.ID, requestDate(r.ExtendedDueBy), requestDate(r.ExtendNoticeBy))
				case rights.StateRefused:
					fmt.Fprintf(out, "request %s refused: tell the person the reason", r.ID)
					if r.Jurisdiction == rights.GDPR {
						fmt.Fprint(out, ", and that they may complain to a supervisory authority and seek a judicial remedy (Art. 12(4))")
					}
					fmt.Fprintln(out)
				default:
					late := ""
					if last := r.History[len(r.History)-1].At; last.After(r.Deadline()) {
						late = fmt.Sprintf(" (late: it was due by %s)", requestDate(r.Deadline()))
					}
					fmt.Fprintf(out, "request %s completed%s\n", r.ID, late)
				}
				return nil
			})
		},
	}
	p.register(cmd)
	if withReason {
		cmd.Flags().StringVar(&reason, "reason", "", "the reason, told to the person (required; name no one)")
	}
	return cmd
}

func printRequest(w io.Writer, r rights.Request, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	loc := r.DueBy.Location()
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, v)
		}
	}
	line("id", r.ID)
	line("type", string(r.Type))
	line("jurisdiction", string(r.Jurisdiction))
	line("subject", string(r.Subject))
	state := string(r.State)
	if r.Overdue(now) {
		state += " (OVERDUE)"
	}
	line("state", state)
	line("received", r.Received.In(loc).Format(time.DateTime+" MST"))
	if !r.Verified.IsZero() {
		line("verified", r.Verified.In(loc).Format(time.DateTime+" MST"))
	}
	if r.PausedFor > 0 {
		line("clock paused for", r.PausedFor.Round(time.Minute).String())
	}
	line("confirm by", requestDate(r.ConfirmBy))
	line("due by", requestDate(r.DueBy))
	line("extend notice by", requestDate(r.ExtendNoticeBy))
	line("extended due by", requestDate(r.ExtendedDueBy))
	if r.Extended {
		line("extended", "yes: "+r.ExtensionReason)
	}
	line("refusal reason", r.RefusalReason)
	tw.Flush()
	fmt.Fprintln(w, "history:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, h := range r.History {
		from := string(h.From)
		if from == "" {
			from = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s → %s\t%s\n", h.At.In(loc).Format(time.DateTime+" MST"), from, h.To, h.Reason)
	}
	tw.Flush()
}

// requestDate prints a deadline as its day (it is the end of that day in the
// controller's zone); "" for none.
func requestDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.DateOnly)
}

func joinStates() string {
	s := make([]string, len(rights.States))
	for i, st := range rights.States {
		s[i] = string(st)
	}
	return strings.Join(s, ", ")
}
