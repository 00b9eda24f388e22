package access_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/garde-privacy/garde"
	"github.com/garde-privacy/garde/access"
)

func TestSessionExpiry(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	c := f.admin(t)
	login := func() access.Session {
		t.Helper()
		f.clock.Add(30 * time.Second) // a fresh TOTP step
		s, err := f.auth.Login(ctx, c.email, c.password, f.code(t, c.secret, 0), addr)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	t.Run("idle", func(t *testing.T) {
		s := login()
		f.clock.Add(29 * time.Minute)
		if _, _, err := f.auth.Authenticate(ctx, s.Token); err != nil {
			t.Fatalf("after 29 idle minutes: %v", err)
		}
		f.clock.Add(29 * time.Minute) // the last use restarted the idle clock
		if _, _, err := f.auth.Authenticate(ctx, s.Token); err != nil {
			t.Fatalf("29 minutes after the last use: %v", err)
		}
		f.clock.Add(30 * time.Minute)
		_, _, err := f.auth.Authenticate(ctx, s.Token)
		if garde.ErrorCode(err) != garde.EUnauthorized || !strings.Contains(garde.ErrorMessage(err), "expired") {
			t.Fatalf("after 30 idle minutes: got %v, want session expired", err)
		}
		if _, _, err := f.auth.Authenticate(ctx, s.Token); garde.ErrorMessage(err) != "sign-in required" {
			t.Errorf("expired session was not deleted: %v", err)
		}
	})

	t.Run("absolute", func(t *testing.T) {
		s := login()
		for range 12 * 4 {
			if _, _, err := f.auth.Authenticate(ctx, s.Token); err != nil {
				t.Fatalf("at %v: %v", f.clock.Now().Sub(s.Created), err)
			}
			f.clock.Add(15 * time.Minute)
		}
		_, _, err := f.auth.Authenticate(ctx, s.Token)
		if garde.ErrorCode(err) != garde.EUnauthorized || !strings.Contains(garde.ErrorMessage(err), "session expired") {
			t.Fatalf("after 12 hours of use: got %v, want session expired", err)
		}
	})

	t.Run("touch throttled", func(t *testing.T) {
		s := login()
		before := f.store.touches
		for range 10 {
			f.clock.Add(5 * time.Second)
			f.auth.Authenticate(ctx, s.Token)
		}
		if n := f.store.touches - before; n != 0 {
			t.Errorf("%d touches in 50 s, want 0", n)
		}
		f.clock.Add(15 * time.Second)
		f.auth.Authenticate(ctx, s.Token)
		if n := f.store.touches - before; n != 1 {
			t.Errorf("%d touches after a minute, want 1", n)
		}
	})

	t.Run("logout, revoke, disable, purge", func(t *testing.T) {
		s := login()
		if err := f.auth.Logout(ctx, s); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.auth.Authenticate(ctx, s.Token); garde.ErrorCode(err) != garde.EUnauthorized {
			t.Errorf("after Logout: %v", err)
		}
		s = login()
		f.auth.RevokeSessions(ctx, s.OperatorID)
		if _, _, err := f.auth.Authenticate(ctx, s.Token); garde.ErrorCode(err) != garde.EUnauthorized {
			t.Errorf("after RevokeSessions: %v", err)
		}
		s = login()
		f.auth.SetDisabled(ctx, s.OperatorID, true)
		if _, _, err := f.auth.Authenticate(ctx, s.Token); garde.ErrorCode(err) != garde.EUnauthorized {
			t.Errorf("after SetDisabled: %v", err)
		}
		if _, err := f.auth.Login(ctx, c.email, c.password, f.code(t, c.secret, 30*time.Second), addr); !errors.Is(err, access.ErrDisabled) {
			t.Errorf("Login while disabled: %v", err)
		}
		f.auth.SetDisabled(ctx, s.OperatorID, false)
		login()
		f.clock.Add(time.Hour)
		if n, err := f.auth.PurgeSessions(ctx); n != 1 || err != nil {
			t.Errorf("PurgeSessions = %d, %v; want 1", n, err)
		}
	})

	t.Run("bad tokens", func(t *testing.T) {
		for _, tok := range []string{"", "x", strings.Repeat("a", 43), strings.Repeat("a", 4096)} {
			if _, _, err := f.auth.Authenticate(ctx, tok); garde.ErrorCode(err) != garde.EUnauthorized {
				t.Errorf("token %.10q: got %v", tok, err)
			}
		}
	})
}

func TestCSRF(t *testing.T) {
	f := newFixture(t, func(c *access.Config) { c.CSRFKey = []byte(strings.Repeat("k", 32)) })
	other := newFixture(t, func(c *access.Config) { c.CSRFKey = []byte(strings.Repeat("j", 32)) })
	s := access.Session{ID: "ses_a"}
	tok := f.auth.CSRFToken(s)
	tests := []struct {
		name  string
		s     access.Session
		token string
		ok    bool
	}{
		{"right", s, tok, true},
		{"missing", s, "", false},
		{"other session", access.Session{ID: "ses_b"}, tok, false},
		{"other key", s, other.auth.CSRFToken(s), false},
		{"truncated", s, tok[:len(tok)-1], false},
		{"not base64", s, "!!!!", false},
		{"session id itself", s, "ses_a", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := f.auth.CheckCSRF(tt.s, tt.token)
			if tt.ok && err != nil || !tt.ok && garde.ErrorCode(err) != garde.EForbidden {
				t.Errorf("got %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
