// Package alerts tells the operator when a trigger's endpoint or a printer
// fails: once when an incident opens (a 410 disabled the trigger, a postback
// ran out of retries, or N failures in a row) and once when it recovers (a
// success). The activities that record postback attempts and printer
// answers report outcomes here; incidents and streaks live in PostgreSQL
// (store/alerts.go), so API replicas and workers agree on one incident and
// a repeated failure does not notify again.
package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"orderintake/delivery"
	"orderintake/internal/seal"
	"orderintake/store"
)

// WebhookSecretRow names the sealed operator-webhook secret (seal.SealFor).
const WebhookSecretRow = "alert_settings.webhook_secret_sealed"

// Store is what alerting needs from the database (*store.Store).
type Store interface {
	GetAlertSettings(ctx context.Context) (*store.AlertSettings, []byte, error)
	AddAlertFailure(ctx context.Context, kind, id, reason string) (int, error)
	OpenIncident(ctx context.Context, inc *store.Incident) (*store.Incident, bool, error)
	RecordAlertSuccess(ctx context.Context, kind, id string) (*store.Incident, bool, error)
	MarkIncidentNotified(ctx context.Context, id string, recovery bool, notifyErr string) error
}

// Notice is one message to the operator.
type Notice struct {
	Event    string          `json:"event"` // "incident.opened" or "incident.recovered"
	Incident *store.Incident `json:"incident"`
	Subject  string          `json:"-"` // e-mail subject
	Text     string          `json:"-"` // e-mail body
}

// Notifier sends a notice to whoever the settings name (a unit seam: the
// real one is Sender).
type Notifier interface {
	Notify(ctx context.Context, s *store.AlertSettings, sealedSecret []byte, n Notice) error
}

// Alerter turns outcomes into incidents and notices.
type Alerter struct {
	Store    Store
	Notifier Notifier
	// PublicURL prefixes the links in notices (the HQ page of the subject).
	PublicURL string
	Logger    *slog.Logger
}

// Outcome is what happened to one postback attempt or printer send.
type Outcome struct {
	Kind       string // store.AlertTrigger or store.AlertPrinter
	SubjectID  string
	Name       string // for people: the trigger's or printer's name
	CustomerID string
	OK         bool
	// Cause of a failure: store.CauseDisabled and CauseExhausted open an
	// incident at once; anything else counts towards the threshold.
	Cause  string
	Reason string
	Link   string // HQ path of what failed (a postback, an order)
}

// Report is Record for callers that must go on whatever happens (the
// activities): an error is logged, not returned.
func (a *Alerter) Report(ctx context.Context, o Outcome) {
	if err := a.Record(ctx, o); err != nil {
		log := a.Logger
		if log == nil {
			log = slog.Default()
		}
		log.Error("operator alert", "subject", o.Kind+" "+o.SubjectID, "error", err)
	}
}

// Record counts an outcome and opens or recovers its subject's incident,
// notifying when that happens. Errors are returned for the caller to log:
// an alert that cannot be sent must not fail the order or the postback.
func (a *Alerter) Record(ctx context.Context, o Outcome) error {
	if a == nil {
		return nil
	}
	if o.OK {
		inc, closed, err := a.Store.RecordAlertSuccess(ctx, o.Kind, o.SubjectID)
		if err != nil || !closed {
			return err
		}
		return a.notify(ctx, inc, true, o)
	}
	n, err := a.Store.AddAlertFailure(ctx, o.Kind, o.SubjectID, o.Reason)
	if err != nil {
		return err
	}
	cause := o.Cause
	if cause != store.CauseDisabled && cause != store.CauseExhausted {
		settings, _, err := a.Store.GetAlertSettings(ctx)
		if err != nil {
			return err
		}
		limit := settings.TriggerFailures
		if o.Kind == store.AlertPrinter {
			limit = settings.PrinterFailures
		}
		if n < limit {
			return nil
		}
		cause = store.CauseConsecutive
		o.Reason = fmt.Sprintf("%d failures in a row; the last: %s", n, o.Reason)
	}
	inc, send, err := a.Store.OpenIncident(ctx, &store.Incident{SubjectKind: o.Kind, SubjectID: o.SubjectID, CustomerID: o.CustomerID,
		Cause: cause, Reason: o.Reason, Link: a.link(o)})
	if err != nil || !send {
		return err
	}
	return a.notify(ctx, inc, false, o)
}

func (a *Alerter) link(o Outcome) string {
	p := o.Link
	if p == "" {
		p = "/hq/" + o.Kind + "s/" + url.PathEscape(o.SubjectID)
	}
	return strings.TrimRight(a.PublicURL, "/") + p
}

func (a *Alerter) notify(ctx context.Context, inc *store.Incident, recovery bool, o Outcome) error {
	settings, sealed, err := a.Store.GetAlertSettings(ctx)
	if err != nil {
		return err
	}
	if !settings.Enabled || (len(settings.Emails) == 0 && settings.WebhookURL == "") {
		// Kept as an incident (the overview shows it); nobody to tell.
		return a.Store.MarkIncidentNotified(ctx, inc.ID, recovery, "alerts are off or name no recipient")
	}
	n := noticeFor(inc, recovery, o.Name)
	if err := a.Notifier.Notify(ctx, settings, sealed, n); err != nil {
		if merr := a.Store.MarkIncidentNotified(ctx, inc.ID, recovery, err.Error()); merr != nil {
			return errors.Join(err, merr)
		}
		return fmt.Errorf("notify %s of incident %s: %w", n.Event, inc.ID, err)
	}
	return a.Store.MarkIncidentNotified(ctx, inc.ID, recovery, "")
}

func noticeFor(inc *store.Incident, recovery bool, name string) Notice {
	what := inc.SubjectKind + " " + inc.SubjectID
	if name != "" {
		what = inc.SubjectKind + " " + name + " (" + inc.SubjectID + ")"
	}
	n := Notice{Event: "incident.opened", Incident: inc}
	if recovery {
		n.Event = "incident.recovered"
		n.Subject = "[orderintake] recovered: " + what
		n.Text = fmt.Sprintf("The %s works again (a success at %s).\n\nThe incident opened at %s: %s\n\n%s\n",
			what, time.Now().UTC().Format(time.RFC3339), inc.OpenedAt.UTC().Format(time.RFC3339), inc.Reason, inc.Link)
		return n
	}
	n.Subject = "[orderintake] failing: " + what
	n.Text = fmt.Sprintf("The %s is failing since %s.\n\nReason (%s): %s\n\n%s\n\nYou will get one more message when it recovers.\n",
		what, inc.OpenedAt.UTC().Format(time.RFC3339), inc.Cause, inc.Reason, inc.Link)
	return n
}

// Sender is the real Notifier: e-mail through the work settings' SMTP
// server and the operator webhook, signed like triggers' webhooks, both
// through delivery's guarded senders.
type Sender struct {
	SMTP     func(ctx context.Context) (delivery.SMTPSettings, error)
	Mailer   *delivery.Mailer
	Webhooks *delivery.WebhookSender
	Sealer   *seal.Sealer
}

// Notify sends n to every recipient of s; it fails when any send failed.
func (s *Sender) Notify(ctx context.Context, st *store.AlertSettings, sealedSecret []byte, n Notice) error {
	var errs []error
	if st.WebhookURL != "" {
		var secrets []string
		if len(sealedSecret) > 0 {
			plain, _, err := s.Sealer.OpenFor(sealedSecret, WebhookSecretRow)
			if err != nil {
				return errors.New("cannot open the alert webhook's signing secret (was ORDERINTAKE_SECRET_KEY changed?)")
			}
			secrets = []string{plain}
		}
		body, _ := json.Marshal(n)
		msgID := n.Incident.ID + "." + strings.TrimPrefix(n.Event, "incident.")
		res := s.Webhooks.Send(ctx, delivery.WebhookRequest{MessageID: msgID, URL: st.WebhookURL, Body: body, Format: "json", Secrets: secrets})
		if res.Outcome != delivery.Delivered {
			errs = append(errs, fmt.Errorf("alert webhook: %s", res.Attempt.Error))
		}
	}
	if len(st.Emails) > 0 {
		smtp, err := s.SMTP(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("alert e-mail: %w", err))
		} else {
			domain := "orderintake"
			if _, d, ok := strings.Cut(smtp.FromAddress, "@"); ok && d != "" {
				domain = d
			}
			res := s.Mailer.Send(ctx, smtp, delivery.Email{MessageID: "<" + n.Incident.ID + "." + n.Event + "@" + domain + ">",
				To: st.Emails, Subject: n.Subject, Text: n.Text})
			if res.Outcome != delivery.Delivered {
				errs = append(errs, fmt.Errorf("alert e-mail: %s", res.Attempt.Error))
			}
		}
	}
	return errors.Join(errs...)
}
