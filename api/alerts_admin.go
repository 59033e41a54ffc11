package api

import (
	"net/http"
	netmail "net/mail"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	oi "orderintake"
	"orderintake/alerts"
	"orderintake/delivery"
	"orderintake/store"
)

// Operator alerts (issue 15): who is told when a trigger's endpoint or a
// printer fails, and after how many failures in a row. The incidents
// themselves are opened by the worker (alerts/).

// alertSettingsOut is the settings as the API shows them; Secret only in
// the answer that made it (the operator webhook's signing secret, like a
// trigger's, shown once).
type alertSettingsOut struct {
	store.AlertSettings
	Secret string `json:"secret,omitempty"`
}

func (s *Server) getAlertSettings(c *gin.Context) {
	st, _, err := s.Store.GetAlertSettings(c.Request.Context())
	if err != nil {
		s.fail(c, err)
		return
	}
	s.reply(c, http.StatusOK, alertSettingsOut{AlertSettings: *st}, nil)
}

// alertBody replaces the settings. A webhook URL without a secret yet gets
// one (returned once); rotateSecret makes a new one.
type alertBody struct {
	Enabled         bool     `json:"enabled"`
	Emails          []string `json:"emails"`
	WebhookURL      string   `json:"webhookUrl"`
	TriggerFailures *int     `json:"triggerFailures"`
	PrinterFailures *int     `json:"printerFailures"`
	RotateSecret    bool     `json:"rotateSecret"`
}

func (b *alertBody) settings() (*store.AlertSettings, error) {
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

func (s *Server) putAlertSettings(c *gin.Context) {
	var b alertBody
	if !s.bind(c, &b) {
		return
	}
	a, err := b.settings()
	if err != nil {
		s.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	_, old, err := s.Store.GetAlertSettings(ctx)
	if err != nil {
		s.fail(c, err)
		return
	}
	var sealed []byte
	var secret string
	if a.WebhookURL != "" && (len(old) == 0 || b.RotateSecret) {
		if secret, err = delivery.NewSecret(); err != nil {
			s.fail(c, err)
			return
		}
		sealed = s.Sealer.SealFor(secret, alerts.WebhookSecretRow)
	}
	if err := s.Store.PutAlertSettings(ctx, a, sealed); err != nil {
		s.fail(c, err)
		return
	}
	st, _, err := s.Store.GetAlertSettings(ctx)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.reply(c, http.StatusOK, alertSettingsOut{AlertSettings: *st, Secret: secret}, nil)
}
