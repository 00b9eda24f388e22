package web_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// chromium is the browser the browser test drives.
const chromium = "/usr/bin/chromium"

// TestBrowser signs in with a TOTP code in a real headless browser, opens
// the operators page, and checks that the strict CSP let the stylesheet
// and script load and blocked nothing.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped in -short mode")
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Skip("browser test: no chromium at " + chromium)
	}
	e := newEnv(t)
	o := e.operator("admin", "Ada Lovelace")

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.Flag("lang", "en-GB"))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	// Count CSP violations from the first byte of every page (a devtools
	// script, which the page's CSP does not govern).
	watch := `window.__csp = []; document.addEventListener("securitypolicyviolation", function (e) { window.__csp.push(e.violatedDirective + " " + e.blockedURI); });`
	err := chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: watch})
			return err
		}),
		chromedp.Navigate(e.srv.URL+"/console/operators"),
		chromedp.WaitVisible(`input[name="email"]`),
		chromedp.SendKeys(`input[name="email"]`, o.Email),
		chromedp.SendKeys(`input[name="password"]`, o.Password),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.SendKeys(`input[name="code"]`, e.code(o.Secret))(ctx, t)
			return err
		}),
		chromedp.Submit(`input[name="code"]`),
		chromedp.WaitVisible(`nav a[aria-current="page"]`),
	)
	if err != nil {
		t.Fatal(err)
	}
	title := run(t, ctx, chromedp.Title())
	h1 := run(t, ctx, chromedp.Text(`h1`))
	display := run(t, ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("header.top")).display`))
	if !run(t, ctx, chromedp.Evaluate[bool](`Array.isArray(window.__csp)`)) {
		t.Fatal("the CSP violation watcher did not run")
	}
	violations := run(t, ctx, chromedp.Evaluate[[]string](`window.__csp`))
	if title != "Operators · Garde" || h1 != "Operators" {
		t.Errorf("after sign-in: title %q, h1 %q; want the operators page", title, h1)
	}
	if display != "flex" {
		t.Errorf("the stylesheet did not apply (header display %q)", display)
	}
	if len(violations) > 0 {
		t.Errorf("CSP violations: %s", strings.Join(violations, "; "))
	}
	if body := run(t, ctx, chromedp.Text(`main`)); !strings.Contains(body, "Ada Lovelace") {
		t.Errorf("the operators page does not list the operator")
	}
}

func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
