//go:build !nodev

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	oi "orderintake"
	"orderintake/internal/testenv"
)

// chromium finds Debian's Chromium. Without it the test skips, except under
// CI, where it must run (scripts/ensure-chromium.sh installs it).
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed and CI is set: run scripts/ensure-chromium.sh (make deps)")
	}
	t.Skip("chromium is not installed (apt-get install chromium, or make deps); CI runs this test")
	return ""
}

// screenshotDir keeps the screenshots after the test (t.TempDir would not):
// $ORDERINTAKE_SCREENSHOTS, else e2e/testdata/screenshots (ignored by git).
func screenshotDir(t *testing.T) string {
	dir := os.Getenv("ORDERINTAKE_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("testdata", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestHQInTheBrowser drives the HQ pages in headless Chromium the way an
// operator answers "what happened to this order?": log in, filter Requests
// by date, open the order and its four panes, open its postback and the
// attempts, then render a broken template and see the failing line marked.
func TestHQInTheBrowser(t *testing.T) {
	bin := chromium(t)
	p := startProduct(t)
	printer := testenv.NewServer(t)
	printer.Default = http.StatusCreated
	receiver := testenv.NewServer(t, http.StatusInternalServerError) // the first try fails, the retry lands
	shop := p.configure(printer.URL, receiver.URL, "json", testenv.IntakeJSON, oi.EventShipped)
	status, order := p.submit(shop.customerKey, "application/json",
		`{"orderReferenceId": "HQ-BROWSER-1", "items": [{"sku": "POSTER-A3", "quantity": 2}]}`, nil)
	if status != 202 {
		t.Fatalf("submit = %d %v", status, order)
	}
	orderID := order["id"].(string)
	eventually(t, 20*time.Second, "the printer to get the order", func() bool { return len(printer.Requests()) == 1 })
	for i, ev := range []string{oi.EventReceived, oi.EventShipped} {
		if st, out := p.event(shop.printerKey, orderID, map[string]any{"eventId": fmt.Sprint("b-", i), "status": ev,
			"trackingCode": "TRACK-HQ"}); st != 202 {
			t.Fatalf("event %s = %d %v", ev, st, out)
		}
	}
	eventually(t, 30*time.Second, "the shipped postback to land on its second attempt", func() bool {
		pbs, _ := p.st.ListOrderPostbacks(context.Background(), orderID)
		return len(pbs) == 1 && pbs[0].Status == oi.PostbackDelivered && pbs[0].Attempts == 2
	})

	dir := screenshotDir(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-background-networking", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1600, 1000))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	// The first action starts the browser: no timeout on it (it would stop the browser).
	if err := chromedp.Do(browser, chromedp.Navigate(p.api.URL+"/hq/login")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(browser, 90*time.Second)
	defer cancel()
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.Join(strings.Fields(s), " ")
	}
	start := time.Now()
	navigateTo := func(what string, want int64, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		resp, err := chromedp.RunResponse(ctx, steps...)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if resp.Status != want {
			t.Fatalf("%s: HTTP %d at %s, want %d", what, resp.Status, resp.URL, want)
		}
		t.Logf("%5.1fs %s", time.Since(start).Seconds(), what)
	}
	navigate := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		navigateTo(what, 200, steps...)
	}
	has := func(what, got string, subs ...string) {
		t.Helper()
		for _, s := range subs {
			if !strings.Contains(got, s) {
				t.Errorf("%s lacks %q: %s", what, s, got)
			}
		}
	}

	// Log in with the admin token.
	shot("01-login")
	navigate("log in", chromedp.SetValue(chromedp.CSS(`input[name=token]`), p.admin), chromedp.Click(chromedp.CSS(`section.login button`)))

	// Requests, filtered to today (UTC).
	today := time.Now().UTC().Format("2006-01-02")
	navigate("filter by date", chromedp.SetValue(chromedp.CSS(`#filters input[name=from]`), today),
		chromedp.SetValue(chromedp.CSS(`#filters input[name=to]`), today), chromedp.Click(chromedp.CSS(`#filters button[type=submit]`)))
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.Contains(loc, "from="+today) || !strings.Contains(loc, "to="+today) {
		t.Errorf("filtered page is %s", loc)
	}
	has("requests list", text("#requests"), "HQ-BROWSER-1", "shipped", "Shop")
	shot("02-requests")

	// The order: four panes side by side.
	navigate("open the order", chromedp.Click(chromedp.CSS(`#requests tbody a`)))
	has("original request", text("#pane-original"), `"orderReferenceId": "HQ-BROWSER-1"`, `"sku": "POSTER-A3"`)
	has("template processing", text("#pane-template"), "version 1", `"externalId": "HQ-BROWSER-1"`, `"copies": 2`)
	has("final request", text("#pane-final"), "POST "+printer.URL, `"copies": 2`)
	has("system response", text("#pane-response"), "HTTP 201", "ms", "attempt 1")
	has("timeline", text("#timeline"), "received", "shipped", "TRACK-HQ")
	tops, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`[...document.querySelectorAll('#stages .pane')].map(e => e.getBoundingClientRect().top)`))
	if err != nil || len(tops) != 4 || tops[0] != tops[1] || tops[1] != tops[2] || tops[2] != tops[3] {
		t.Errorf("the four panes are not side by side: tops %v %v", tops, err)
	}
	if href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#workflow-link').href`)); err != nil ||
		!strings.Contains(href, "/namespaces/default/workflows/order%2F") {
		t.Errorf("workflow link = %q %v", href, err)
	}
	shot("03-request")

	// Its postback and the attempts.
	navigate("open the postback", chromedp.Click(chromedp.CSS(`#order-postbacks tbody a`)))
	attempts := text("#attempts")
	has("attempts", attempts, "HTTP 500", "HTTP 200", "retry", "delivered")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`tr.attempt-detail summary`))); err != nil {
		t.Fatal(err)
	}
	has("first attempt's exchange", text(`tr.attempt-detail details`), "Webhook-Signature", "refused by the test server")
	shot("04-postback")

	// Resend now: a manual attempt joins the list (issue 4's route, through the page).
	navigate("resend", chromedp.Click(chromedp.CSS(`#resend`)))
	has("after resend", text("main"), "Resend started")
	pbs, _ := p.st.ListOrderPostbacks(context.Background(), orderID)
	eventually(t, 20*time.Second, "the manual attempt", func() bool {
		atts, _ := p.st.ListAttempts(context.Background(), pbs[0].ID)
		return len(atts) == 3 && atts[2].Trigger == "manual"
	})

	// Send test from the trigger's page lands on the test postback.
	if err := chromedp.Do(ctx, chromedp.Navigate(p.api.URL+"/hq/triggers/"+pbs[0].TriggerID)); err != nil {
		t.Fatal(err)
	}
	navigate("send test", chromedp.Click(chromedp.CSS(`button.action-test`)))
	has("test postback page", text("main"), "Test sent", "Postback shipped", "test")

	// A template with an error on line 3: Render marks that line.
	if err := chromedp.Do(ctx, chromedp.Navigate(p.api.URL+"/hq/templates/new")); err != nil {
		t.Fatal(err)
	}
	// A template problem is an answer to the form: 422, with the page.
	navigateTo("render a broken template", 422,
		chromedp.SetValue(chromedp.CSS(`#body`), "{\n  \"ref\": \"{{ orderReferenceId }}\",\n  \"n\": {{ items | length }\n}"),
		chromedp.SetValue(chromedp.CSS(`textarea[name=input]`), `{"orderReferenceId": "HQ-BROWSER-1", "items": []}`),
		chromedp.Click(chromedp.CSS(`#render`)))
	if ln := text("#errline .ln"); ln != "3" {
		t.Errorf("marked line = %q, want 3 (problem: %s)", ln, text("main"))
	}
	has("render problem", text(".problem"), "line 3")
	shot("05-template-error")
	t.Logf("screenshots in %s", dir)
}
