package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/jobs"
)

func TestParseState(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want jobs.State
		code string
	}{
		{"available", jobs.StateAvailable, ""},
		{" Running ", jobs.StateRunning, ""},
		{"COMPLETED", jobs.StateCompleted, ""},
		{"discarded", jobs.StateDiscarded, ""},
		{"", "", garde.EInvalid},
		{"done", "", garde.EInvalid},
		{"x'; DROP TABLE jobs; --", "", garde.EInvalid},
	} {
		got, err := jobs.ParseState(tc.in)
		if got != tc.want || (err != nil) != (tc.code != "") || err != nil && garde.ErrorCode(err) != tc.code {
			t.Errorf("ParseState(%q): got %q, %v, want %q, %s", tc.in, got, err, tc.want, tc.code)
		}
	}
	for _, s := range jobs.States {
		if s.Finished() != (s == jobs.StateCompleted || s == jobs.StateDiscarded) {
			t.Errorf("%s.Finished() = %v", s, s.Finished())
		}
	}
}

func TestPrepare(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		in   jobs.Job
		want jobs.Job
		code string
	}{
		{"defaults", jobs.Job{Kind: "k"},
			jobs.Job{Kind: "k", Args: []byte("{}"), MaxAttempts: jobs.DefaultMaxAttempts, State: jobs.StateAvailable}, ""},
		{"kept", jobs.Job{Kind: "k", Key: "r_1", Args: []byte(`[1]`), MaxAttempts: 3, RunAt: at},
			jobs.Job{Kind: "k", Key: "r_1", Args: []byte(`[1]`), MaxAttempts: 3, RunAt: at, State: jobs.StateAvailable}, ""},
		{"store's fields cleared", jobs.Job{ID: 9, Kind: "k", Attempt: 4, LastError: "x", State: jobs.StateRunning,
			Worker: "w", LeaseUntil: at, Finished: at},
			jobs.Job{Kind: "k", Args: []byte("{}"), MaxAttempts: jobs.DefaultMaxAttempts, State: jobs.StateAvailable}, ""},
		{"no kind", jobs.Job{}, jobs.Job{}, garde.EInvalid},
		{"spaced kind", jobs.Job{Kind: " k"}, jobs.Job{}, garde.EInvalid},
		{"long kind", jobs.Job{Kind: strings.Repeat("k", jobs.MaxKind+1)}, jobs.Job{}, garde.EInvalid},
		{"long key", jobs.Job{Kind: "k", Key: strings.Repeat("k", jobs.MaxKey+1)}, jobs.Job{}, garde.EInvalid},
		{"not JSON", jobs.Job{Kind: "k", Args: []byte("{")}, jobs.Job{}, garde.EInvalid},
		{"negative attempts", jobs.Job{Kind: "k", MaxAttempts: -1}, jobs.Job{}, garde.EInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := jobs.Prepare(tc.in)
			if garde.ErrorCode(err) != tc.code && !(err == nil && tc.code == "") {
				t.Fatalf("got %v, want %s", err, tc.code)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestErrorText: only a garde error's code and public message are kept,
// never its cause, cut to MaxError bytes.
func TestErrorText(t *testing.T) {
	cause := errors.New("smtp: alice@example.com refused")
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"garde", garde.Wrap(garde.EUnavailable, cause, "mail not sent"), "unavailable: mail not sent"},
		{"wrapped", fmt.Errorf("fulfil: %w", garde.Errorf(garde.ENotFound, "no request r_1")), "not_found: no request r_1"},
		{"cancelled", jobs.Cancel(garde.Errorf(garde.EForbidden, "not verified")), "forbidden: not verified"},
		{"cancel nil", jobs.Cancel(nil), "invalid: cancelled by its handler"},
		{"plain", cause, "internal: internal error"},
		{"context", fmt.Errorf("x: %w", context.Canceled), "unavailable: interrupted"},
		{"deadline", context.DeadlineExceeded, "unavailable: timed out"},
	} {
		if got := jobs.ErrorText(tc.err); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
	long := jobs.ErrorText(garde.Errorf(garde.EInternal, "%s", strings.Repeat("é", 600)))
	if len(long) > jobs.MaxError || !strings.HasSuffix(long, "…") {
		t.Errorf("long message: %d bytes, %q", len(long), long[len(long)-10:])
	}
}

func TestCancel(t *testing.T) {
	inner := garde.Errorf(garde.EForbidden, "not verified")
	err := fmt.Errorf("run: %w", jobs.Cancel(inner))
	if !jobs.IsCancel(err) || !errors.Is(err, inner) || garde.ErrorCode(err) != garde.EForbidden {
		t.Errorf("Cancel: %v", err)
	}
	if jobs.IsCancel(inner) || jobs.IsCancel(nil) {
		t.Error("IsCancel of an error not cancelled")
	}
}

func TestDefaultBackoff(t *testing.T) {
	prev := time.Duration(0)
	for attempt := 1; attempt <= 30; attempt++ {
		d := jobs.DefaultBackoff(attempt)
		nominal := min(time.Hour, time.Second<<min(attempt, 20))
		if d < nominal*9/10 || d > min(nominal*11/10, time.Hour) {
			t.Errorf("attempt %d: %v, want %v ± 10 %% (at most 1 h)", attempt, d, nominal)
		}
		if attempt > 2 && d < prev/2 {
			t.Errorf("attempt %d: %v after %v", attempt, d, prev)
		}
		prev = d
	}
	if d := jobs.DefaultBackoff(-5); d <= 0 || d > 2*time.Second {
		t.Errorf("negative attempt: %v", d)
	}
}

func FuzzParseState(f *testing.F) {
	for _, s := range []string{"available", " Running", "COMPLETED\t", "discarded", "", "x", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st, err := jobs.ParseState(s)
		if err != nil {
			if st != "" || garde.ErrorCode(err) != garde.EInvalid || len(garde.ErrorMessage(err)) > 300 {
				t.Fatalf("ParseState(%q): %q, %v", s, st, err)
			}
			return
		}
		if !st.Valid() || !strings.EqualFold(strings.TrimSpace(s), string(st)) {
			t.Fatalf("ParseState(%q) = %q", s, st)
		}
	})
}

// FuzzPrepare: what Prepare accepts is a job every store can keep (JSON
// args within bounds, a kind, attempts in range), and preparing twice
// changes nothing.
func FuzzPrepare(f *testing.F) {
	f.Add("rights.fulfil", "r_1", []byte(`{"request":"r_1"}`), 0)
	f.Add("", "", []byte(nil), -1)
	f.Add("k", "\x00", []byte("{"), 1001)
	f.Add("k ", "é", []byte(`"\ud800"`), 1)
	f.Fuzz(func(t *testing.T, kind, key string, args []byte, attempts int) {
		j, err := jobs.Prepare(jobs.Job{Kind: kind, Key: key, Args: args, MaxAttempts: attempts})
		if err != nil {
			if garde.ErrorCode(err) != garde.EInvalid {
				t.Fatalf("error code %s (%v)", garde.ErrorCode(err), err)
			}
			return
		}
		if j.Kind == "" || len(j.Kind) > jobs.MaxKind || len(j.Key) > jobs.MaxKey || len(j.Args) > jobs.MaxArgs ||
			!json.Valid(j.Args) || j.MaxAttempts < 1 || j.MaxAttempts > 1000 || j.State != jobs.StateAvailable {
			t.Fatalf("accepted %+v", j)
		}
		again, err := jobs.Prepare(j)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(j, again); diff != "" {
			t.Errorf("prepared twice (-once +twice):\n%s", diff)
		}
	})
}
