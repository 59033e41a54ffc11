package activities

import (
	"context"
	"fmt"
	"net/url"

	oi "orderintake"
	"orderintake/alerts"
	"orderintake/delivery"
	"orderintake/internal/seal"
	"orderintake/store"
)

// alert reports an outcome to the operator alerts. An alert that cannot be
// recorded or sent is logged by the alerter (and kept on the incident),
// never a reason to fail or retry the order or the postback.
func (a *Activities) alert(ctx context.Context, o alerts.Outcome) {
	if a.Alerts != nil {
		a.Alerts.Report(ctx, o)
	}
}

// postbackOutcome is the alert outcome of a postback attempt that ended as
// status (pending: it will be retried).
func postbackOutcome(t *oi.Trigger, p *oi.Postback, res delivery.Result, status, reason string) alerts.Outcome {
	o := alerts.Outcome{Kind: store.AlertTrigger, SubjectID: t.ID, Name: t.Name, CustomerID: t.CustomerID,
		OK: status == oi.PostbackDelivered, Reason: reason, Link: "/hq/postbacks/" + url.PathEscape(p.ID)}
	if o.Reason == "" {
		o.Reason = fmt.Sprintf("%s: %s", res.Outcome, res.Attempt.Error)
	}
	switch {
	case res.Outcome == delivery.Gone:
		o.Cause = store.CauseDisabled
	case status == oi.PostbackExhausted:
		o.Cause = store.CauseExhausted
	}
	return o
}

// printerOutcome is the alert outcome of one send to a printer.
func printerOutcome(p *oi.Printer, o *oi.OrderRequest, ok bool, reason string) alerts.Outcome {
	return alerts.Outcome{Kind: store.AlertPrinter, SubjectID: p.ID, Name: p.Name, CustomerID: o.CustomerID, OK: ok,
		Reason: reason, Link: "/hq/requests/" + url.PathEscape(o.ID)}
}

// SMTPSettings are the work settings' outgoing mail server, password opened
// (operator alerts send through it).
func (a *Activities) SMTPSettings(ctx context.Context) (delivery.SMTPSettings, error) {
	st, sealed, err := a.Store.GetSMTPSettings(ctx)
	if err != nil {
		return delivery.SMTPSettings{}, fmt.Errorf("load smtp settings: %w", err)
	}
	password, _, err := a.Sealer.OpenFor(sealed, seal.SMTPPassword)
	if err != nil {
		return delivery.SMTPSettings{}, fmt.Errorf("cannot open the SMTP password (was ORDERINTAKE_SECRET_KEY changed?)")
	}
	return delivery.SMTPSettings{FromAddress: st.FromAddress, FromName: st.FromName, Host: st.Host, Port: st.Port,
		Username: st.Username, Password: password, TLS: st.TLS, AllowPlainAuth: st.AllowPlainAuth}, nil
}
