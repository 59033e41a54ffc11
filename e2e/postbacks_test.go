//go:build !nodev

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	netmail "net/mail"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	smtpmock "github.com/mocktools/go-smtp-mock/v2"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	oi "orderintake"
	"orderintake/internal/smtptest"
	"orderintake/internal/testenv"
	"orderintake/workflows"
)

// ---- helpers of the postback tests

// trigger creates a trigger over the admin API and returns it (with its secret).
func (p *product) trigger(body map[string]any) map[string]any {
	p.t.Helper()
	return p.adminCall("POST", "/v1/admin/triggers", body, http.StatusCreated)
}

// template creates a template over the admin API and returns its id.
func (p *product) template(body map[string]any) string {
	p.t.Helper()
	return p.adminCall("POST", "/v1/admin/templates", body, http.StatusCreated)["id"].(string)
}

// postbackDetail is the Postbacks view of one postback, with its attempts.
func (p *product) postbackDetail(id string) map[string]any {
	p.t.Helper()
	return p.adminCall("GET", "/v1/admin/postbacks/"+id, nil, http.StatusOK)
}

// waitPostback polls the Postbacks view until cond holds.
func (p *product) waitPostback(id, what string, cond func(pb map[string]any) bool) map[string]any {
	p.t.Helper()
	var pb map[string]any
	eventually(p.t, 20*time.Second, "postback "+id+" "+what, func() bool {
		pb = p.postbackDetail(id)
		return cond(pb)
	})
	return pb
}

func attemptsOf(pb map[string]any) []map[string]any {
	var out []map[string]any
	for _, a := range pb["attempts"].([]any) {
		out = append(out, a.(map[string]any))
	}
	return out
}

// problem makes an admin call that must fail with status and names field.
func (p *product) problem(method, path string, body any, status int, field string) map[string]any {
	p.t.Helper()
	var raw string
	if body != nil {
		b, _ := json.Marshal(body)
		raw = string(b)
	}
	st, out, hdr := p.call(method, path, map[string]string{"Authorization": "Bearer " + p.admin}, raw)
	if st != status || hdr.Get("Content-Type") != "application/problem+json" || out["detail"] == "" || (field != "" && out["field"] != field) {
		p.t.Fatalf("%s %s %s = %d %s %v, want a %d problem about %q", method, path, raw, st, hdr.Get("Content-Type"), out, status, field)
	}
	return out
}

// placeOrder submits a one-item order and waits until the printer has it.
func (p *product) placeOrder(s shop, printer *testenv.Server, ref string) string {
	p.t.Helper()
	before := len(printer.Requests())
	st, out := p.submit(s.customerKey, "application/json", `{"orderReferenceId": "`+ref+`", "items": [{"sku": "MUG", "quantity": 1}]}`, nil)
	if st != http.StatusAccepted {
		p.t.Fatalf("submit %s = %d %v", ref, st, out)
	}
	eventually(p.t, 20*time.Second, "the printer to get "+ref, func() bool { return len(printer.Requests()) > before })
	id := out["id"].(string)
	p.t.Cleanup(func() { p.endWorkflow(oi.WorkflowID(s.customerID, ref)) })
	eventually(p.t, 10*time.Second, ref+" to be submitted", func() bool {
		o, err := p.st.GetOrderRequest(context.Background(), id)
		return err == nil && o.Status == oi.StatusSubmitted
	})
	return id
}

// endWorkflow terminates a workflow a test leaves running (an order that
// never got a terminal event, a delivery still retrying), so the next test's
// worker, on another database, does not pick up its tasks.
func (p *product) endWorkflow(wfID string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = p.tc.TerminateWorkflow(ctx, wfID, "", "test finished")
}

func (p *product) sendEvent(s shop, orderID, eventID, status string) {
	p.t.Helper()
	body := map[string]any{"eventId": eventID, "status": status, "timestamp": time.Now().UTC().Format(time.RFC3339)}
	if status == oi.EventShipped {
		body["trackingCode"], body["trackingUrl"], body["carrierName"] = "TRK-"+eventID, "https://track.example/TRK-"+eventID, "PostNord"
	}
	if st, out := p.event(s.printerKey, orderID, body); st != http.StatusAccepted {
		p.t.Fatalf("event %s %s = %d %v", eventID, status, st, out)
	}
}

func bodyField(r testenv.Request, field string) string {
	var m map[string]any
	_ = json.Unmarshal(r.Body, &m)
	s, _ := m[field].(string)
	return s
}

// ---- signatures and rotation

// After a rotation the next postback carries two signatures: receivers that
// still hold the old secret and those that switched both verify it.
func TestSecretRotationSignsWithOldAndNewSecret(t *testing.T) {
	p := startProduct(t)
	printer := testenv.NewServer(t)
	printer.Default = http.StatusCreated
	receiver := testenv.NewServer(t)
	s := p.configure(printer.URL, receiver.URL, "json", testenv.IntakeJSON, oi.EventReceived, oi.EventShipped)
	orderID := p.placeOrder(s, printer, "ROT-1")

	p.sendEvent(s, orderID, "rot-e1", oi.EventReceived)
	eventually(t, 20*time.Second, "the received postback", func() bool { return len(receiver.Requests()) == 1 })
	first := receiver.Requests()[0]
	verifySignature(t, s.secrets[oi.EventReceived], first)
	if sigs := strings.Fields(first.Header.Get("webhook-signature")); len(sigs) != 1 {
		t.Fatalf("before rotation: %d signatures, want 1", len(sigs))
	}

	var shipped map[string]any
	for _, tr := range p.adminCall("GET", "/v1/admin/triggers?customerId="+s.customerID, nil, http.StatusOK)["items"].([]any) {
		if tr := tr.(map[string]any); tr["event"] == oi.EventShipped {
			shipped = tr
		}
	}
	oldSecret := s.secrets[oi.EventShipped]
	rotated := p.adminCall("POST", "/v1/admin/triggers/"+shipped["id"].(string)+"/rotate-secret", nil, http.StatusOK)
	newSecret, _ := rotated["secret"].(string)
	if !strings.HasPrefix(newSecret, "whsec_") || newSecret == oldSecret {
		t.Fatalf("rotation returned secret %q", newSecret)
	}

	p.sendEvent(s, orderID, "rot-e2", oi.EventShipped)
	eventually(t, 20*time.Second, "the shipped postback", func() bool { return len(receiver.Requests()) == 2 })
	second := receiver.Requests()[1]
	if sigs := strings.Fields(second.Header.Get("webhook-signature")); len(sigs) != 2 {
		t.Fatalf("after rotation: signatures %q, want two (new and old secret)", second.Header.Get("webhook-signature"))
	}
	verifySignature(t, newSecret, second)
	verifySignature(t, oldSecret, second)
	// And the check can fail: another trigger's secret does not verify it.
	wh, err := standardwebhooks.NewWebhook(s.secrets[oi.EventReceived])
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(second.Body, second.Header); err == nil {
		t.Fatal("the shipped postback verifies with the received trigger's secret")
	}
	if bodyField(second, "trackingCode") != "TRK-rot-e2" || second.Header.Get("webhook-id") == first.Header.Get("webhook-id") {
		t.Fatalf("shipped postback %s, webhook-id %q", second.Body, second.Header.Get("webhook-id"))
	}
}

// ---- operator actions

func TestSendTestResendAndBulkResend(t *testing.T) {
	p := startProduct(t)
	printer := testenv.NewServer(t)
	printer.Default = http.StatusCreated
	live := testenv.NewServer(t)
	testRecv := testenv.NewServer(t)
	flaky := testenv.NewServer(t, http.StatusBadRequest, http.StatusBadRequest) // then 200
	down := testenv.NewServer(t)
	down.Default = http.StatusServiceUnavailable
	s := p.configure(printer.URL, live.URL, "json", testenv.IntakeJSON, oi.EventReceived)
	hook := p.template(map[string]any{"name": "test hook", "kind": "webhook", "format": "json", "body": testenv.WebhookJSON})
	trigger := func(event, url, status string) map[string]any {
		return p.trigger(map[string]any{"customerId": s.customerID, "name": event + " " + status, "event": event, "method": "url",
			"templateId": hook, "format": "json", "url": url, "status": status})
	}
	testTrg := trigger(oi.EventReceived, testRecv.URL, oi.TriggerTest)
	inProd := trigger(oi.EventInProduction, flaky.URL, oi.TriggerActive)
	shippedTrg := trigger(oi.EventShipped, flaky.URL, oi.TriggerActive)
	trigger(oi.EventInTransit, down.URL, oi.TriggerActive)

	// A "test" trigger does not fire for real events.
	windowStart := time.Now().UTC().Add(-time.Second)
	orderID := p.placeOrder(s, printer, "OPS-1")
	p.sendEvent(s, orderID, "ops-e1", oi.EventReceived)
	eventually(t, 20*time.Second, "the live postback", func() bool { return len(live.Requests()) == 1 })
	time.Sleep(300 * time.Millisecond)
	if n := len(testRecv.Requests()); n != 0 {
		t.Fatalf("a trigger in status test fired for a real event (%d requests)", n)
	}

	// Send test: rendered from the event's sample, signed, delivered once.
	out := p.adminCall("POST", "/v1/admin/triggers/"+testTrg["id"].(string)+"/test", nil, http.StatusAccepted)
	testID, _ := out["id"].(string)
	if out["isTest"] != true || out["event"] != oi.EventReceived || out["orderId"] != "" ||
		!strings.Contains(out["links"].(map[string]any)["workflow"].(string), "postback%2F"+testID+"%2F1") {
		t.Fatalf("send test answered %v", out)
	}
	eventually(t, 20*time.Second, "the test postback", func() bool { return len(testRecv.Requests()) == 1 })
	got := testRecv.Requests()[0]
	verifySignature(t, testTrg["secret"].(string), got)
	if got.Header.Get("webhook-id") != testID || bodyField(got, "orderReferenceId") != "ORD-1001" || bodyField(got, "event") != oi.EventReceived {
		t.Fatalf("test postback %s with webhook-id %q", got.Body, got.Header.Get("webhook-id"))
	}
	pb := p.waitPostback(testID, "delivered", func(pb map[string]any) bool { return pb["status"] == oi.PostbackDelivered })
	if atts := attemptsOf(pb); len(atts) != 1 || atts[0]["trigger"] != "manual" || atts[0]["responseStatus"] != float64(200) {
		t.Fatalf("test postback attempts %v", atts)
	}
	// Another event's sample, asked for by name.
	out = p.adminCall("POST", "/v1/admin/triggers/"+testTrg["id"].(string)+"/test", map[string]any{"event": "shipped"}, http.StatusAccepted)
	eventually(t, 20*time.Second, "the shipped test postback", func() bool { return len(testRecv.Requests()) == 2 })
	if r := testRecv.Requests()[1]; bodyField(r, "event") != oi.EventShipped || bodyField(r, "trackingCode") == "" {
		t.Fatalf("shipped test postback %s", r.Body)
	}
	p.problem("POST", "/v1/admin/triggers/"+testTrg["id"].(string)+"/test", map[string]any{"event": "lost"}, 422, "event")
	p.problem("POST", "/v1/admin/triggers/"+testTrg["id"].(string)+"/test", map[string]any{"evnt": "shipped"}, 422, "evnt")
	p.problem("POST", "/v1/admin/triggers/trg_nope/test", nil, 404, "")
	// A template that renders malformed JSON on the sample: the operator
	// learns where, and nothing is queued.
	broken := p.template(map[string]any{"name": "broken", "kind": "webhook", "format": "json",
		"body": "{\n  \"event\": \"{{ event }}\",\n}"})
	brokenTrg := p.trigger(map[string]any{"customerId": s.customerID, "name": "broken", "event": oi.EventReceived,
		"method": "url", "templateId": broken, "format": "json", "url": testRecv.URL, "status": oi.TriggerTest})
	prob := p.problem("POST", "/v1/admin/triggers/"+brokenTrg["id"].(string)+"/test", nil, 422, "templateId")
	if prob["code"] != oi.ETEMPLATE || prob["line"] != float64(3) || prob["column"] == nil {
		t.Fatalf("broken template on the sample: %v, want a template error at line 3", prob)
	}

	// Resend one delivered postback: the receiver gets it again under the
	// same webhook-id, recorded as a manual attempt of a new series.
	pbs, _ := p.st.ListOrderPostbacks(context.Background(), orderID)
	liveID := pbs[0].ID
	p.waitPostback(liveID, "delivered", func(pb map[string]any) bool { return pb["status"] == oi.PostbackDelivered })
	out = p.adminCall("POST", "/v1/admin/postbacks/"+liveID+"/resend", nil, http.StatusAccepted)
	if out["series"] != float64(1) || out["workflowId"] != "postback/"+liveID+"/1" {
		t.Fatalf("resend answered %v", out)
	}
	eventually(t, 20*time.Second, "the resent postback", func() bool { return len(live.Requests()) == 2 })
	if a, b := live.Requests()[0], live.Requests()[1]; a.Header.Get("webhook-id") != b.Header.Get("webhook-id") || string(a.Body) != string(b.Body) {
		t.Fatalf("the resend differs from the original: %q %s / %q %s", a.Header.Get("webhook-id"), a.Body, b.Header.Get("webhook-id"), b.Body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var res workflows.DeliverResult
	if err := p.tc.GetWorkflow(ctx, "postback/"+liveID+"/1", "").Get(ctx, &res); err != nil || res.Status != oi.PostbackDelivered {
		t.Fatalf("resend workflow: %+v %v", res, err)
	}
	pb = p.postbackDetail(liveID)
	if atts := attemptsOf(pb); len(atts) != 2 || atts[0]["trigger"] != "scheduled" || atts[1]["trigger"] != "manual" || atts[1]["attempt"] != float64(2) {
		t.Fatalf("attempts after the resend: %v", atts)
	}
	p.problem("POST", "/v1/admin/postbacks/pb_nope/resend", nil, 404, "")

	// A postback still being retried is not resent on top of its schedule.
	p.sendEvent(s, orderID, "ops-e2", oi.EventInTransit)
	var downID string
	eventually(t, 20*time.Second, "the in_transit postback's first attempt", func() bool {
		pbs, _ := p.st.ListOrderPostbacks(context.Background(), orderID)
		for _, pb := range pbs {
			if pb.Event == oi.EventInTransit && pb.Attempts > 0 {
				downID = pb.ID
			}
		}
		return downID != ""
	})
	p.problem("POST", "/v1/admin/postbacks/"+downID+"/resend", nil, 409, "")

	// Bulk: two postbacks failed on 400; resend by window, status and trigger.
	p.sendEvent(s, orderID, "ops-e3", oi.EventInProduction)
	p.sendEvent(s, orderID, "ops-e4", oi.EventShipped)
	eventually(t, 20*time.Second, "two failed postbacks", func() bool {
		n := 0
		pbs, _ := p.st.ListOrderPostbacks(context.Background(), orderID)
		for _, pb := range pbs {
			if pb.Status == oi.PostbackFailed {
				n++
			}
		}
		return n == 2
	})
	window := map[string]any{"from": windowStart.Format(time.RFC3339Nano), "to": time.Now().UTC().Add(time.Minute).Format(time.RFC3339Nano), "status": "failed"}
	p.problem("POST", "/v1/admin/postbacks/resend", map[string]any{"to": window["to"]}, 422, "from")
	p.problem("POST", "/v1/admin/postbacks/resend", map[string]any{"from": window["to"], "to": window["from"]}, 422, "to")
	p.problem("POST", "/v1/admin/postbacks/resend", map[string]any{"from": window["from"], "to": window["to"], "status": "pending"}, 422, "status")
	p.problem("POST", "/v1/admin/postbacks/resend", map[string]any{"from": "yesterday", "to": window["to"]}, 422, "from")
	p.problem("POST", "/v1/admin/postbacks/resend", map[string]any{"from": window["from"], "to": window["to"], "triggerId": "trg_nope"}, 422, "triggerId")

	one := map[string]any{"from": window["from"], "to": window["to"], "status": "failed", "triggerId": shippedTrg["id"]}
	if out := p.adminCall("POST", "/v1/admin/postbacks/resend", one, http.StatusAccepted); out["queued"] != float64(1) || out["more"] != false {
		t.Fatalf("bulk resend of one trigger = %v, want 1 queued", out)
	}
	if out := p.adminCall("POST", "/v1/admin/postbacks/resend", window, http.StatusAccepted); out["queued"] != float64(1) {
		t.Fatalf("bulk resend of the rest = %v, want the in_production postback queued", out)
	}
	for _, trg := range []map[string]any{inProd, shippedTrg} {
		pbs, _ := p.st.ListOrderPostbacks(context.Background(), orderID)
		i := slices.IndexFunc(pbs, func(pb *oi.Postback) bool { return pb.TriggerID == trg["id"] })
		pb := p.waitPostback(pbs[i].ID, "delivered by the resend", func(pb map[string]any) bool { return pb["status"] == oi.PostbackDelivered })
		if atts := attemptsOf(pb); len(atts) != 2 || atts[0]["responseStatus"] != float64(400) || atts[1]["trigger"] != "manual" {
			t.Fatalf("attempts of %s: %v", pbs[i].ID, atts)
		}
	}
	if out := p.adminCall("POST", "/v1/admin/postbacks/resend", window, http.StatusAccepted); out["queued"] != float64(0) {
		t.Fatalf("a second bulk resend = %v, want nothing left to queue", out)
	}
}

// ---- e-mail

func TestEmailPostbacksThroughSMTPSettings(t *testing.T) {
	p := startProduct(t)
	printer := testenv.NewServer(t)
	printer.Default = http.StatusCreated
	smtp := smtpmock.New(smtpmock.ConfigurationAttr{HostAddress: "127.0.0.1", MultipleMessageReceiving: true,
		BlacklistedRcpttoEmails: []string{"busy@shop.example"}, MsgRcpttoBlacklistedEmail: "451 4.3.0 Mailbox temporarily unavailable",
		NotRegisteredEmails: []string{"nobody@shop.example"}})
	if err := smtp.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = smtp.Stop() })

	// Work settings: validated, the password write-only and sealed at rest.
	if got := p.adminCall("GET", "/v1/admin/settings/smtp", nil, http.StatusOK); got["port"] != float64(587) || got["tls"] != true || got["hasPassword"] != false {
		t.Fatalf("default SMTP settings %v", got)
	}
	p.problem("PUT", "/v1/admin/settings/smtp", map[string]any{"fromAddress": "PSP <n@psp.example>", "host": "127.0.0.1"}, 422, "fromAddress")
	p.problem("PUT", "/v1/admin/settings/smtp", map[string]any{"fromAddress": "n@psp.example", "host": "127.0.0.1:25"}, 422, "host")
	p.problem("PUT", "/v1/admin/settings/smtp", map[string]any{"fromAddress": "n@psp.example", "host": "127.0.0.1", "port": 70000}, 422, "port")
	const password = "correct-horse-battery-staple"
	settings := map[string]any{"fromAddress": "notifications@psp.example", "fromName": "PSP Notifications", "host": "127.0.0.1",
		"port": smtp.PortNumber(), "tls": false, "password": password}
	st, got, _ := p.call("PUT", "/v1/admin/settings/smtp", map[string]string{"Authorization": "Bearer " + p.admin}, mustJSON(settings))
	if _, leaked := got["password"]; st != 200 || got["hasPassword"] != true || leaked || got["host"] != "127.0.0.1" {
		t.Fatalf("PUT settings = %d %v", st, got)
	}
	if _, sealed, err := p.st.GetSMTPSettings(context.Background()); err != nil || len(sealed) == 0 || strings.Contains(string(sealed), password) {
		t.Fatalf("stored password: %d bytes, plain text inside: %v (%v)", len(sealed), strings.Contains(string(sealed), password), err)
	}
	// The mock relay takes mail without AUTH: drop the password ("" removes it; absent keeps it).
	settings["password"] = ""
	if got := p.adminCall("PUT", "/v1/admin/settings/smtp", settings, http.StatusOK); got["hasPassword"] != false {
		t.Fatalf("clearing the password: %v", got)
	}
	delete(settings, "password")

	mailTpl := p.template(map[string]any{"name": "mail", "kind": "email", "format": "text",
		"subject": "Order {{ orderReferenceId }} {{ event }}", "body": "Hello,\nyour order {{ orderReferenceId }} has shipped.\nTracking: {{ trackingCode }}\n"})
	htmlTpl := p.template(map[string]any{"name": "mail html", "kind": "email", "format": "xml", "subject": "Shipped",
		"body": `<html><body><p>Order <b>{{ orderReferenceId }}</b> shipped with {{ carrierName }}.</p></body></html>`})
	s := p.configure(printer.URL, "http://127.0.0.1:1/unused", "json", testenv.IntakeJSON)
	mailTrigger := func(to, tpl string) map[string]any {
		return p.trigger(map[string]any{"customerId": s.customerID, "name": "mail " + to, "event": oi.EventShipped, "method": "email",
			"templateId": tpl, "emails": []string{to}})
	}
	buyer := mailTrigger("buyer@shop.example", mailTpl)
	mailTrigger("html@shop.example", htmlTpl)
	mailTrigger("busy@shop.example", mailTpl)
	mailTrigger("nobody@shop.example", mailTpl)

	orderID := p.placeOrder(s, printer, "MAIL-1")
	p.sendEvent(s, orderID, "evt-ship-1", oi.EventShipped)
	byTo := map[string]*oi.Postback{}
	eventually(t, 20*time.Second, "the four e-mail postbacks to be tried", func() bool {
		pbs, _ := p.st.ListOrderPostbacks(context.Background(), orderID)
		for _, pb := range pbs {
			byTo[strings.TrimPrefix(pb.Destination, "mailto:")] = pb
		}
		n := 0
		for _, pb := range pbs {
			if pb.Attempts > 0 {
				n++
			}
		}
		return n == 4
	})

	// Delivered: headers and content as the buyer's mail server got them.
	var msgs []smtpmock.Message
	eventually(t, 10*time.Second, "two delivered messages", func() bool {
		msgs = msgs[:0]
		for _, m := range smtp.Messages() {
			if m.MsgRequest() != "" {
				msgs = append(msgs, m)
			}
		}
		return len(msgs) == 2
	})
	parsed := map[string]*netmail.Message{}
	for _, m := range msgs {
		msg, err := netmail.ReadMessage(strings.NewReader(m.MsgRequest()))
		if err != nil {
			t.Fatalf("delivered message does not parse: %v", err)
		}
		parsed[strings.Trim(msg.Header.Get("To"), "<>")] = msg
	}
	plain := parsed["buyer@shop.example"]
	if plain == nil {
		t.Fatalf("no message for the buyer among %v", parsed)
	}
	from, _ := netmail.ParseAddress(plain.Header.Get("From"))
	wantID := "<evt-ship-1." + byTo["buyer@shop.example"].ID + "@psp.example>"
	if from == nil || from.Name != "PSP Notifications" || from.Address != "notifications@psp.example" ||
		plain.Header.Get("Subject") != "Order MAIL-1 shipped" || plain.Header.Get("Message-Id") != wantID {
		t.Fatalf("headers %v, want From PSP Notifications, the rendered subject and Message-ID %s", plain.Header, wantID)
	}
	text, _ := io.ReadAll(plain.Body)
	if !strings.Contains(string(text), "your order MAIL-1 has shipped.") || !strings.Contains(string(text), "Tracking: TRK-evt-ship-1") {
		t.Fatalf("body %q", text)
	}
	html := parsed["html@shop.example"]
	mt, params, _ := mime.ParseMediaType(html.Header.Get("Content-Type"))
	if mt != "multipart/alternative" {
		t.Fatalf("HTML mail Content-Type %q, want multipart/alternative", html.Header.Get("Content-Type"))
	}
	parts := map[string]string{}
	mr := multipart.NewReader(html.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(part)
		ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		parts[ct] = strings.TrimSpace(string(b))
	}
	if !strings.Contains(parts["text/html"], "<b>MAIL-1</b>") || parts["text/plain"] != "Order MAIL-1 shipped with PostNord." {
		t.Fatalf("HTML mail parts %q", parts)
	}

	// 4xx is temporary (retried on the schedule), 5xx permanent.
	busy := p.waitPostback(byTo["busy@shop.example"].ID, "tried", func(pb map[string]any) bool { return len(attemptsOf(pb)) > 0 })
	if a := attemptsOf(busy)[0]; a["outcome"] != "retry" || a["errorKind"] != "smtp" || a["responseStatus"] != float64(451) || a["nextAttemptAt"] == nil {
		t.Fatalf("451 attempt %v, want a retry with a next attempt time", a)
	}
	nobody := p.waitPostback(byTo["nobody@shop.example"].ID, "failed", func(pb map[string]any) bool { return pb["status"] == oi.PostbackFailed })
	if atts := attemptsOf(nobody); len(atts) != 1 || atts[0]["outcome"] != "permanent" || atts[0]["responseStatus"] != float64(550) {
		t.Fatalf("550 attempts %v, want one permanent", atts)
	}
	p.endWorkflow(oi.WorkflowID(s.customerID, "MAIL-1")) // stop the 451 retries before the settings change

	// Refused credentials are a configuration problem, and say so.
	settings["port"], settings["username"], settings["password"] = refusingSMTPPort(t), "psp-mailer", password
	settings["allowPlainAuth"] = true // the refusing server offers no TLS
	p.adminCall("PUT", "/v1/admin/settings/smtp", settings, http.StatusOK)
	out := p.adminCall("POST", "/v1/admin/triggers/"+buyer["id"].(string)+"/test", nil, http.StatusAccepted)
	pb := p.waitPostback(out["id"].(string), "failed", func(pb map[string]any) bool { return pb["status"] == oi.PostbackFailed })
	atts := attemptsOf(pb)
	if len(atts) != 1 || atts[0]["errorKind"] != "config" || !strings.HasPrefix(pb["statusReason"].(string), "configuration problem") ||
		!strings.Contains(pb["statusReason"].(string), "credentials") {
		t.Fatalf("bad credentials: status reason %q, attempts %v", pb["statusReason"], atts)
	}
	if raw, _ := json.Marshal(pb); strings.Contains(string(raw), password) {
		t.Fatal("the SMTP password shows in the postback view")
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// ---- benchmark

// TestPostbackFanoutBenchmark measures postbacks per second and the latency
// from the printer's event (the API call) to the receiver, with 1, 10 and
// 100 triggers per event on the embedded stack. Each trigger has its own
// destination, so they are delivered in parallel. Run it with
//
//	ORDERINTAKE_BENCH=1 go test ./e2e/ -run PostbackFanoutBenchmark -v
func TestPostbackFanoutBenchmark(t *testing.T) {
	if os.Getenv("ORDERINTAKE_BENCH") == "" {
		t.Skip("set ORDERINTAKE_BENCH=1 to run the postback fan-out benchmark")
	}
	p := startProduct(t)
	printer := testenv.NewServer(t)
	printer.Default = http.StatusCreated

	var mu sync.Mutex
	arrived := map[string][]time.Time{} // order id -> arrival of each postback
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		var body struct{ OrderID string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		arrived[body.OrderID] = append(arrived[body.OrderID], at)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(recv.Close)

	for _, fan := range []struct{ triggers, isolated, burst int }{{1, 20, 200}, {10, 10, 30}, {100, 5, 5}} {
		s := p.configure(printer.URL, recv.URL, "json", testenv.IntakeJSON)
		hook := p.template(map[string]any{"name": "bench", "kind": "webhook", "format": "json", "body": testenv.WebhookJSON})
		for i := range fan.triggers {
			p.trigger(map[string]any{"customerId": s.customerID, "name": fmt.Sprint("bench ", i), "event": oi.EventShipped,
				"method": "url", "templateId": hook, "format": "json", "url": fmt.Sprintf("%s/d/%d", recv.URL, i)})
		}
		orders := make([]string, fan.isolated+fan.burst)
		for i := range orders {
			orders[i] = p.placeOrder(s, printer, fmt.Sprintf("BENCH-%d-%d", fan.triggers, i))
		}
		waitAll := func(ids []string) {
			eventually(t, 5*time.Minute, "every postback", func() bool {
				mu.Lock()
				defer mu.Unlock()
				for _, id := range ids {
					if len(arrived[id]) < fan.triggers {
						return false
					}
				}
				return true
			})
		}
		latencies := func(sent map[string]time.Time) []time.Duration {
			mu.Lock()
			defer mu.Unlock()
			var out []time.Duration
			for id, t0 := range sent {
				for _, at := range arrived[id] {
					out = append(out, at.Sub(t0))
				}
			}
			slices.Sort(out)
			return out
		}

		// Isolated: one event at a time, the latency of a quiet system.
		sent := map[string]time.Time{}
		for _, id := range orders[:fan.isolated] {
			sent[id] = time.Now()
			p.sendEvent(s, id, "ship-"+id, oi.EventShipped)
			waitAll([]string{id})
		}
		iso := latencies(sent)

		// Burst: every event at once from 4 clients, throughput under load.
		sent = map[string]time.Time{}
		var smu sync.Mutex
		var wg sync.WaitGroup
		ids := make(chan string, fan.burst)
		for _, id := range orders[fan.isolated:] {
			ids <- id
		}
		close(ids)
		start := time.Now()
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for id := range ids {
					t0 := time.Now()
					b, _ := json.Marshal(map[string]any{"eventId": "ship-" + id, "status": oi.EventShipped})
					req, _ := http.NewRequest("POST", p.api.URL+"/v1/printer/orders/"+id+"/events", strings.NewReader(string(b)))
					req.Header.Set("X-API-KEY", s.printerKey)
					req.Header.Set("Content-Type", "application/json")
					if resp, err := http.DefaultClient.Do(req); err == nil {
						resp.Body.Close()
					}
					smu.Lock()
					sent[id] = t0
					smu.Unlock()
				}
			}()
		}
		wg.Wait()
		waitAll(orders[fan.isolated:])
		burst := latencies(sent)
		mu.Lock()
		var last time.Time
		for _, id := range orders[fan.isolated:] {
			for _, at := range arrived[id] {
				if at.After(last) {
					last = at
				}
			}
		}
		mu.Unlock()
		elapsed := last.Sub(start)
		pct := func(d []time.Duration, q float64) time.Duration {
			return d[int(q*float64(len(d)-1))].Round(time.Millisecond)
		}
		t.Logf("fan-out %3d: isolated (%d events, %d postbacks) p50 %v p99 %v | burst (%d events, %d postbacks) %.0f postbacks/s, p50 %v p99 %v",
			fan.triggers, fan.isolated, len(iso), pct(iso, 0.5), pct(iso, 0.99),
			fan.burst, len(burst), float64(len(burst))/elapsed.Seconds(), pct(burst, 0.5), pct(burst, 0.99))
	}
}

// refusingSMTPPort is an SMTP server that refuses every credential.
func refusingSMTPPort(t *testing.T) int {
	port, _ := smtptest.AuthServer(t, "535 5.7.8 Authentication credentials invalid")
	return port
}
