//go:build !nodev

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	netmail "net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	smtpmock "github.com/mocktools/go-smtp-mock/v2"

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
	// HQ opens on the overview; Requests is one click away.
	navigate("open Requests", chromedp.Click(chromedp.CSS(`header.top nav a[href="/hq/requests"]`)))

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

// TestHQOverviewEditorAndAlertsInTheBrowser drives what an operator does
// besides reading one order (issue 15): the overview's chart counts the
// orders this test submitted; the code editor marks Render's error line in
// its gutter; the impact preview of a changed template lists changed and
// now-failing orders; a trigger whose endpoint answers 410 raises one alert
// (operator webhook, signed, and an e-mail) and one recovery once it
// answers 2xx again. Every HQ page it opens logs no console error and loads
// nothing from another origin.
func TestHQOverviewEditorAndAlertsInTheBrowser(t *testing.T) {
	bin := chromium(t)
	p := startProduct(t)
	printer := testenv.NewServer(t, http.StatusCreated, http.StatusBadRequest) // the second order is refused
	printer.Default = http.StatusCreated
	receiver := testenv.NewServer(t, http.StatusGone) // the first postback: 410, the trigger is disabled
	alertHook := testenv.NewServer(t)
	mail := smtpmock.New(smtpmock.ConfigurationAttr{HostAddress: "127.0.0.1", MultipleMessageReceiving: true})
	if err := mail.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mail.Stop() })
	shop := p.configure(printer.URL, receiver.URL, "json", testenv.IntakeJSON, oi.EventShipped)
	p.adminCall("PUT", "/v1/admin/settings/smtp", map[string]any{"fromAddress": "hq@psp.example", "host": "127.0.0.1",
		"port": mail.PortNumber(), "tls": false}, 200)
	alertSettings := p.adminCall("PUT", "/v1/admin/settings/alerts", map[string]any{"enabled": true, "emails": []string{"ops@psp.example"},
		"webhookUrl": alertHook.URL, "triggerFailures": 3, "printerFailures": 3}, 200)
	alertSecret, _ := alertSettings["secret"].(string)

	var orderIDs []string
	for i, body := range []string{
		`{"orderReferenceId": "OV-1", "note": "gift wrap", "items": [{"sku": "POSTER-A3", "quantity": 2}]}`,
		`{"orderReferenceId": "OV-2", "items": [{"sku": "MUG-WHITE", "quantity": 1}]}`,
		`{"orderReferenceId": "OV-3", "items": [{"sku": "POSTER-A2", "quantity": 3}]}`,
	} {
		status, order := p.submit(shop.customerKey, "application/json", body, nil)
		if status != 202 {
			t.Fatalf("submit %d = %d %v", i, status, order)
		}
		orderIDs = append(orderIDs, order["id"].(string))
		// One at a time, so the printer's script (201, 400, 201) meets them in order.
		eventually(t, 20*time.Second, "the printer to get the order", func() bool { return len(printer.Requests()) == i+1 })
	}
	eventually(t, 20*time.Second, "OV-2 to fail on the printer's 400", func() bool {
		o, err := p.st.GetOrderRequest(context.Background(), orderIDs[1])
		return err == nil && o.Status == oi.EventFailed
	})
	// OV-1 ships: its postback meets the 410, which disables the trigger and raises an alert.
	if st, out := p.event(shop.printerKey, orderIDs[0], map[string]any{"eventId": "ov-1", "status": oi.EventShipped, "trackingCode": "T-1"}); st != 202 {
		t.Fatalf("event = %d %v", st, out)
	}
	eventually(t, 30*time.Second, "the alert webhook", func() bool { return len(alertHook.Requests()) == 1 })
	opened := alertHook.Requests()[0]
	verifySignature(t, alertSecret, opened)
	var notice struct {
		Event    string
		Incident struct{ SubjectKind, Cause, Reason, Link string }
	}
	if err := json.Unmarshal(opened.Body, &notice); err != nil || notice.Event != "incident.opened" || notice.Incident.Cause != "disabled" ||
		!strings.Contains(notice.Incident.Reason, "410") || !strings.Contains(notice.Incident.Link, "/hq/postbacks/") {
		t.Fatalf("alert = %s (%v)", opened.Body, err)
	}
	mailSubjects := func() []string {
		var out []string
		for _, m := range mail.Messages() {
			if m.MsgRequest() == "" {
				continue
			}
			msg, err := netmail.ReadMessage(strings.NewReader(m.MsgRequest()))
			if err != nil {
				t.Fatalf("alert mail does not parse: %v", err)
			}
			out = append(out, msg.Header.Get("Subject"))
		}
		return out
	}
	eventually(t, 10*time.Second, "the alert e-mail", func() bool { return len(mailSubjects()) == 1 })
	if s := mailSubjects()[0]; !strings.Contains(s, "failing: trigger shipped") {
		t.Errorf("alert e-mail subject = %q", s)
	}

	// The browser, watching the console and every request.
	dir := screenshotDir(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-background-networking", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1600, 1000))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	var mu sync.Mutex
	var consoleErrors, foreign []string
	origin := p.api.URL
	if err := chromedp.Listen(browser, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *cdpruntime.EventConsoleAPICalled:
			if e.Type == cdpruntime.ConsoleAPICalledTypeError || e.Type == cdpruntime.ConsoleAPICalledTypeWarning {
				var args []string
				for _, a := range e.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				consoleErrors = append(consoleErrors, string(e.Type)+": "+strings.Join(args, " "))
			}
		case *cdpruntime.EventExceptionThrown:
			consoleErrors = append(consoleErrors, fmt.Sprintf("exception: %s %s:%d", e.ExceptionDetails.Text, e.ExceptionDetails.URL, e.ExceptionDetails.LineNumber))
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError {
				consoleErrors = append(consoleErrors, fmt.Sprintf("%s: %s %s", e.Entry.Source, e.Entry.Text, e.Entry.URL))
			}
		case *network.EventRequestWillBeSent:
			if u := e.Request.URL; !strings.HasPrefix(u, origin+"/") && !strings.HasPrefix(u, "data:") && u != "about:blank" {
				foreign = append(foreign, u)
			}
		}
	}); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	if err := chromedp.Do(browser, chromedp.Navigate(p.api.URL+"/hq/login")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(browser, 120*time.Second)
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
	eval := func(what, js string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
	navigate := func(what string, want int64, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		resp, err := chromedp.RunResponse(ctx, steps...)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if resp.Status != want {
			t.Fatalf("%s: HTTP %d at %s, want %d", what, resp.Status, resp.URL, want)
		}
	}

	// Sign in: HQ opens on the overview.
	navigate("log in", 200, chromedp.SetValue(chromedp.CSS(`input[name=token]`), p.admin), chromedp.Click(chromedp.CSS(`section.login button`)))
	navigate("overview", 200, chromedp.Navigate(p.api.URL+"/hq/?refresh=1"))
	if got := eval("chart total", `document.querySelector('svg#orders-chart').dataset.total`); got != "3" {
		t.Errorf("the chart counts %s orders, want the 3 submitted", got)
	}
	bars := eval("bars", `[...document.querySelectorAll('svg#orders-chart rect.bar')].map(r => r.dataset.status + '=' + r.dataset.count).sort().join(' ')`)
	if !strings.Contains(bars, "failed=1") || !strings.Contains(bars, "shipped=1") {
		t.Errorf("chart bars = %q, want OV-2 failed and OV-1 shipped", bars)
	}
	if rate := eval("failure rate", `document.querySelector('#ov-failure-rate').textContent`); rate != "33.3%" {
		t.Errorf("failure rate = %q", rate)
	}
	failing := eval("failing now", `document.querySelector('#failing-now').innerText`)
	if !strings.Contains(failing, "shipped") || !strings.Contains(failing, "disabled") {
		t.Errorf("failing now = %q, want the disabled shipped trigger", failing)
	}
	if href := eval("failing link", `document.querySelector('tr.failing-trigger a[href*="/hq/postbacks?"]').getAttribute('href')`); !strings.Contains(href, "triggerId=") {
		t.Errorf("failing trigger links to %q", href)
	}
	shot("06-overview")

	// The editor: a broken body, Render, the error line marked in the gutter.
	cust, err := p.st.GetCustomer(context.Background(), shop.customerID)
	if err != nil {
		t.Fatal(err)
	}
	navigate("template editor", 200, chromedp.Navigate(p.api.URL+"/hq/templates/"+cust.IntakeTemplateID))
	if _, err := chromedp.Run(ctx, chromedp.WaitVisible(chromedp.CSS(`#body-editor[data-ready=true]`))); err != nil {
		t.Fatalf("the code editor did not start: %v", err)
	}
	if n := eval("variables", `String(document.querySelectorAll('#variables [data-insert]').length)`); n == "0" {
		t.Error("the variables panel is empty")
	}
	broken := "{\n  \"ref\": \"{{ orderReferenceId }}\",\n  \"n\": {{ items | length }\n}"
	navigate("render a broken template", 422,
		chromedp.SetValue(chromedp.CSS(`#body`), broken), chromedp.SetValue(chromedp.CSS(`select[name=customerId]`), shop.customerID),
		chromedp.Click(chromedp.CSS(`#render`)))
	if _, err := chromedp.Run(ctx, chromedp.WaitVisible(chromedp.CSS(`#body-editor[data-ready=true]`))); err != nil {
		t.Fatalf("the code editor did not start: %v", err)
	}
	if line := eval("marked line", `document.querySelector('#body-editor').dataset.errorLine`); line != "3" {
		t.Errorf("editor marks line %q, want 3", line)
	}
	gutter := eval("gutter", `(() => { const r = document.querySelector('#body-editor').shadowRoot;
		const m = r.querySelector('.cm-gutter-lint .cm-lint-marker-error'); const l = r.querySelector('.cm-line.cm-errline');
		if (!m || !l) return 'missing';
		const top = m.closest('.cm-gutterElement').getBoundingClientRect().top;
		const lines = [...r.querySelectorAll('.cm-lineNumbers .cm-gutterElement')].filter(e => Math.abs(e.getBoundingClientRect().top - top) < 2);
		return (lines[0] ? lines[0].textContent : '?') + '|' + l.textContent })()`)
	if !strings.HasPrefix(gutter, "3|") || !strings.Contains(gutter, "items | length") {
		t.Errorf("gutter marker and marked line = %q, want the error marker beside line 3", gutter)
	}
	shot("07-editor-error-line")

	// Impact preview: a strict draft that reads "note" changes OV-1 (it has
	// one) and fails the others.
	draft := strings.TrimSuffix(testenv.IntakeJSON, "}") + `, "note": "{{ note }}"}`
	navigate("load the template again", 200, chromedp.Navigate(p.api.URL+"/hq/templates/"+cust.IntakeTemplateID))
	navigate("preview impact", 200, chromedp.SetValue(chromedp.CSS(`#body`), draft),
		chromedp.SetValue(chromedp.CSS(`select[name=customerId]`), shop.customerID),
		chromedp.Click(chromedp.CSS(`#strict`)), chromedp.Click(chromedp.CSS(`#impact`)))
	outcomes := eval("impact rows", `[...document.querySelectorAll('#impact-items tr.impact-item')].map(r => r.querySelector('a').textContent + '=' + r.dataset.outcome).sort().join(' ')`)
	if outcomes != "OV-1=changed OV-2=now failing OV-3=now failing" {
		t.Errorf("impact = %q, want OV-1 changed, OV-2 and OV-3 now failing", outcomes)
	}
	diff := eval("diff", `document.querySelector('tr.impact-item.changed table.diff').innerText`)
	if !strings.Contains(diff, `"note": "gift wrap"`) {
		t.Errorf("the changed order's diff lacks the note: %q", diff)
	}
	if errText := eval("error", `document.querySelector('tr.impact-item.now-failing .problem-inline').textContent`); !strings.Contains(errText, "note") {
		t.Errorf("now failing shows %q, want the undefined note named", errText)
	}
	shot("08-impact-preview")

	// Recovery: the endpoint answers 2xx again (the script is spent), the
	// operator re-activates the trigger and sends a test: one recovery notice.
	trs, err := p.st.ListTriggers(context.Background(), shop.customerID)
	if err != nil || len(trs) != 1 || trs[0].Status != oi.TriggerDisabled {
		t.Fatalf("triggers = %v %v, want the one disabled by the 410", trs, err)
	}
	p.adminCall("PATCH", "/v1/admin/triggers/"+trs[0].ID, map[string]any{"status": "active"}, 200)
	p.adminCall("POST", "/v1/admin/triggers/"+trs[0].ID+"/test", nil, 202)
	eventually(t, 30*time.Second, "the recovery webhook", func() bool { return len(alertHook.Requests()) == 2 })
	recovered := alertHook.Requests()[1]
	verifySignature(t, alertSecret, recovered)
	if err := json.Unmarshal(recovered.Body, &notice); err != nil || notice.Event != "incident.recovered" {
		t.Errorf("second alert = %s", recovered.Body)
	}
	eventually(t, 10*time.Second, "the recovery e-mail", func() bool { return len(mailSubjects()) == 2 })
	if s := mailSubjects()[1]; !strings.Contains(s, "recovered: trigger shipped") {
		t.Errorf("recovery e-mail subject = %q", s)
	}
	navigate("overview after recovery", 200, chromedp.Navigate(p.api.URL+"/hq/?refresh=1"))
	if inc := eval("incidents", `document.querySelector('#incidents').innerText`); !strings.Contains(inc, "disabled") || strings.Contains(inc, "open") {
		t.Errorf("incidents = %q, want the 410 incident recovered", inc)
	}
	shot("09-overview-recovered")
	navigate("settings", 200, chromedp.Navigate(p.api.URL+"/hq/settings"))
	shot("10-settings-alerts")

	// Give late console events a moment, then check the whole session.
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	for _, e := range consoleErrors {
		// The render form's 422 (the template's problem, answered as the
		// page's status on purpose) is logged by Chromium as a failed load.
		if strings.Contains(e, "status of 422") && strings.HasSuffix(e, "/hq/templates/render") {
			continue
		}
		t.Errorf("console: %s", e)
	}
	if len(foreign) > 0 {
		t.Errorf("requests to another origin: %v", foreign)
	}
	if len(alertHook.Requests()) != 2 || len(mailSubjects()) != 2 {
		t.Errorf("alerts sent: %d webhooks, %d e-mails; want exactly one opening and one recovery each", len(alertHook.Requests()), len(mailSubjects()))
	}
	t.Logf("screenshots in %s", dir)
}
