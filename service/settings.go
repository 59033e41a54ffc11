package service

import (
	"context"
	netmail "net/mail"
	"net/url"
	"strings"

	oi "orderintake"
	"orderintake/alerts"
	"orderintake/delivery"
	"orderintake/internal/seal"
	"orderintake/store"
)

// ---- SMTP work settings

// SMTPInput replaces the settings. The password is write-only: absent keeps
// the stored one (unless host, port or username change: then it is
// dropped), "" removes it, anything else replaces it (sealed at rest).
type SMTPInput struct {
	FromAddress string  `json:"fromAddress"`
	FromName    string  `json:"fromName"`
	Host        string  `json:"host"`
	Port        *int    `json:"port"`
	Username    string  `json:"username"`
	Password    *string `json:"password"`
	TLS         *bool   `json:"tls"`
	// AllowPlainAuth: AUTH over a connection without TLS (default false).
	AllowPlainAuth bool `json:"allowPlainAuth"`
}

func (b *SMTPInput) settings() (*oi.SMTPSettings, error) {
	st := &oi.SMTPSettings{FromAddress: strings.TrimSpace(b.FromAddress), FromName: strings.TrimSpace(b.FromName),
		Host: strings.TrimSpace(b.Host), Port: 587, Username: b.Username, TLS: true, AllowPlainAuth: b.AllowPlainAuth}
	if b.Port != nil {
		st.Port = *b.Port
	}
	if b.TLS != nil {
		st.TLS = *b.TLS
	}
	if err := st.Validate(); err != nil {
		return nil, err
	}
	return st, nil
}

// SMTPSettings are the work settings' outgoing mail (the password is never
// part of them: json:"-").
func (a *Admin) SMTPSettings(ctx context.Context) (*oi.SMTPSettings, error) {
	st, _, err := a.Store.GetSMTPSettings(ctx)
	return st, err
}

// PutSMTPSettings replaces the settings and answers them as stored.
func (a *Admin) PutSMTPSettings(ctx context.Context, b SMTPInput) (*oi.SMTPSettings, error) {
	st, err := b.settings()
	if err != nil {
		return nil, err
	}
	var sealed []byte
	if b.Password != nil && *b.Password != "" {
		sealed = a.Sealer.SealFor(*b.Password, seal.SMTPPassword)
	}
	if err := a.Store.PutSMTPSettings(ctx, st, sealed); err != nil {
		return nil, err
	}
	if b.Password != nil && *b.Password == "" {
		if err := a.Store.ClearSMTPPassword(ctx); err != nil {
			return nil, err
		}
	}
	return a.SMTPSettings(ctx)
}

// ---- operator alerts
//
// Who is told when a trigger's endpoint or a printer fails, and after how
// many failures in a row. The incidents themselves are opened by the
// worker (alerts/).

// AlertSettingsView is the settings as operators see them; Secret only in
// the answer that made it (the operator webhook's signing secret, like a
// trigger's, shown once).
type AlertSettingsView struct {
	store.AlertSettings
	Secret string `json:"secret,omitempty"`
}

// AlertInput replaces the settings. A webhook URL without a secret yet
// gets one (returned once); rotateSecret makes a new one.
type AlertInput struct {
	Enabled         bool     `json:"enabled"`
	Emails          []string `json:"emails"`
	WebhookURL      string   `json:"webhookUrl"`
	TriggerFailures *int     `json:"triggerFailures"`
	PrinterFailures *int     `json:"printerFailures"`
	RotateSecret    bool     `json:"rotateSecret"`
}

func (b *AlertInput) settings() (*store.AlertSettings, error) {
	a := &store.AlertSettings{Enabled: b.Enabled, Emails: []string{}, WebhookURL: strings.TrimSpace(b.WebhookURL),
		TriggerFailures: store.DefaultAlertFailures, PrinterFailures: store.DefaultAlertFailures}
	for i, e := range b.Emails {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if m, err := netmail.ParseAddress(e); err != nil || m.Address != e {
			return nil, oi.FieldError("emails", "emails[%d] must be a bare e-mail address like ops@psp.example", i)
		}
		a.Emails = append(a.Emails, e)
	}
	if a.WebhookURL != "" {
		u, err := url.Parse(a.WebhookURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, oi.FieldError("webhookUrl", "webhookUrl must be an http:// or https:// URL")
		}
	}
	for field, p := range map[string]*int{"triggerFailures": b.TriggerFailures, "printerFailures": b.PrinterFailures} {
		if p == nil {
			continue
		}
		if *p < 1 || *p > 1000 {
			return nil, oi.FieldError(field, "%s must be between 1 and 1000 (failures in a row before an alert)", field)
		}
	}
	if b.TriggerFailures != nil {
		a.TriggerFailures = *b.TriggerFailures
	}
	if b.PrinterFailures != nil {
		a.PrinterFailures = *b.PrinterFailures
	}
	if a.Enabled && len(a.Emails) == 0 && a.WebhookURL == "" {
		return nil, oi.FieldError("emails", "enabled alerts need at least one e-mail address or a webhookUrl")
	}
	return a, nil
}

// AlertSettings are the operator alert settings.
func (a *Admin) AlertSettings(ctx context.Context) (*AlertSettingsView, error) {
	st, _, err := a.Store.GetAlertSettings(ctx)
	if err != nil {
		return nil, err
	}
	return &AlertSettingsView{AlertSettings: *st}, nil
}

// PutAlertSettings replaces the settings; the answer carries the webhook's
// signing secret when one was made.
func (a *Admin) PutAlertSettings(ctx context.Context, b AlertInput) (*AlertSettingsView, error) {
	s, err := b.settings()
	if err != nil {
		return nil, err
	}
	_, old, err := a.Store.GetAlertSettings(ctx)
	if err != nil {
		return nil, err
	}
	var sealed []byte
	var secret string
	if s.WebhookURL != "" && (len(old) == 0 || b.RotateSecret) {
		if secret, err = delivery.NewSecret(); err != nil {
			return nil, err
		}
		sealed = a.Sealer.SealFor(secret, alerts.WebhookSecretRow)
	}
	if err := a.Store.PutAlertSettings(ctx, s, sealed); err != nil {
		return nil, err
	}
	st, _, err := a.Store.GetAlertSettings(ctx)
	if err != nil {
		return nil, err
	}
	return &AlertSettingsView{AlertSettings: *st, Secret: secret}, nil
}
