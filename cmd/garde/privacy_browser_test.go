package main

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/garde-privacy/garde/collect"
	"github.com/garde-privacy/garde/consent"
)

// TestPrivacyCentreBrowser drives chromium through the privacy centre of
// the real Main, as a customer would, without JavaScript on Garde's side:
// ask for a copy in French, type the code received by mail, download the
// copy through its one-time link (a second use fails), then ask for
// erasure in English and receive the signed certificate; the person is
// then gone.
func TestPrivacyCentreBrowser(t *testing.T) {
	chrome := bChromium(t)
	mail := &consent.MemoryNotifier{}
	in := start(t, t.TempDir(), collect.WriterOptions{}, func(m *Main) { m.Notifier = mail })
	p := distinctive()
	subject := seedDistinctive(t, in, p, "CENTRE")

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.WindowSize(1100, 900))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	browser, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start %s: %v", chrome, err)
	}
	code := regexp.MustCompile(`\b\d{6}\b`)
	// ask fills the form and types the code the person received
	ask := func(t *testing.T, lang, kind string) context.Context {
		ctx := bTab(t, browser, &bConsole{}, false)
		before := len(mail.Messages())
		bDo(t, ctx, chromedp.Navigate(in.base+"/privacy?lang="+lang))
		var htmlLang string
		bEval(t, ctx, &htmlLang, `document.documentElement.lang`)
		bDo(t, ctx,
			chromedp.Click("#kind-"+kind),
			chromedp.Click("#where-gdpr"),
			chromedp.SendKeys("#email", p.Email),
			chromedp.Submit("#email"),
			chromedp.WaitVisible("#code"),
		)
		if htmlLang != lang {
			t.Errorf("page language %q, want %q", htmlLang, lang)
		}
		msgs := mail.Messages()
		if len(msgs) != before+1 || msgs[len(msgs)-1].To != p.Email || msgs[len(msgs)-1].Lang != lang {
			t.Fatalf("no code mailed to the person in %s: %d messages", lang, len(msgs)-before)
		}
		c := code.FindString(msgs[len(msgs)-1].Text)
		if c == "" {
			t.Fatal("the mail holds no 6-digit code")
		}
		bDo(t, ctx, chromedp.SendKeys("#code", c), chromedp.Submit("#code"))
		return ctx
	}

	t.Run("copy", func(t *testing.T) {
		ctx := ask(t, "fr", "access")
		var href string
		pPoll(t, ctx, `!!document.querySelector('a[href^="/privacy/download/"]')`)
		bEval(t, ctx, &href, `document.querySelector('a[href^="/privacy/download/"]').getAttribute('href')`)
		resp, err := http.Get(in.base + href)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/zip" {
			t.Fatalf("download: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		z, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
		if err != nil {
			t.Fatal(err)
		}
		files := map[string]string{}
		for _, f := range z.File {
			r, _ := f.Open()
			b, _ := io.ReadAll(r)
			r.Close()
			files[f.Name] = string(b)
		}
		if !strings.Contains(files["data.json"], p.Email) || !strings.Contains(files["data.json"], "ORD-CENTRE") {
			t.Error("the copy's data.json lacks the person's (decrypted) data")
		}
		if h := files["index.html"]; !strings.Contains(h, `lang="fr"`) || strings.Contains(h, "<script") {
			t.Error("the summary is not in French, or carries script")
		}
		again, err := http.Get(in.base + href)
		if err != nil {
			t.Fatal(err)
		}
		again.Body.Close()
		if again.StatusCode < 400 || again.StatusCode >= 500 {
			t.Errorf("the link worked twice: %d", again.StatusCode)
		}
	})

	t.Run("erase", func(t *testing.T) {
		ctx := ask(t, "en", "erasure")
		var cert string
		pPoll(t, ctx, `!!document.querySelector('pre.certificate')`)
		bEval(t, ctx, &cert, `document.querySelector('pre.certificate').textContent`)
		c, err := in.m.Eraser.Verify(strings.TrimSpace(cert))
		if err != nil {
			t.Fatalf("the certificate shown does not verify: %v", err)
		}
		if c.Subject != subject {
			t.Errorf("certificate for %s, want %s", c.Subject, subject)
		}
		if _, a := in.subject("email=" + p.Email); a.status != http.StatusNotFound {
			t.Errorf("the person is still there: %d", a.status)
		}
	})
}

// pPoll waits until expr is true on the page, through the page's own
// refreshes (which interrupt an evaluation), for at most 30 s.
func pPoll(t *testing.T, ctx context.Context, expr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ok, err := chromedp.Run(cctx, chromedp.Evaluate[bool](expr))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still not %s after 30 s (last error: %v)", expr, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
