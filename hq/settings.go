package hq

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	oi "orderintake"
	"orderintake/service"
)

// ---- settings: the work settings' SMTP server and operator alerts

var smtpFields = []field{
	{Key: "fromAddress", Label: "From address", Kind: "text"},
	{Key: "fromName", Label: "From name", Kind: "text"},
	{Key: "host", Label: "Host", Kind: "text"},
	{Key: "port", Label: "Port", Kind: "number"},
	{Key: "username", Label: "Username", Kind: "text"},
	{Key: "password", Label: "Password", Kind: "password", Help: "write-only: leave empty to keep the current one (a change of host, port or username drops it)"},
	{Key: "tls", Label: "TLS", Kind: "checkbox"},
	{Key: "allowPlainAuth", Label: "Allow AUTH without TLS", Kind: "checkbox", Help: "only for a relay on a trusted network: the username and password travel in clear"},
}

type settingsPage struct {
	Page
	Form        []formField
	O           *oi.SMTPSettings
	Alerts      *alertsForm
	AlertSecret string
}

// alertsForm is the alert settings as the form shows them.
type alertsForm struct {
	Enabled          bool
	Emails           string // comma separated
	WebhookURL       string
	HasWebhookSecret bool
	TriggerFailures  int
	PrinterFailures  int
}

func smtpValues(st *oi.SMTPSettings) map[string]string {
	if st == nil {
		return map[string]string{}
	}
	port := strconv.Itoa(st.Port)
	return map[string]string{"fromAddress": st.FromAddress, "fromName": st.FromName, "host": st.Host, "port": port,
		"username": st.Username, "tls": strictValue(st.TLS), "allowPlainAuth": strictValue(st.AllowPlainAuth)}
}

func (h *HQ) settings(c *gin.Context) { h.showSettings(c, http.StatusOK, nil, nil, nil) }

// showSettings shows both forms: values as submitted after a problem, else
// as stored; v carries a notice or a secret shown once.
func (h *HQ) showSettings(c *gin.Context, status int, p *Problem, values map[string]string, v *settingsPage) {
	ctx := c.Request.Context()
	if v == nil {
		v = &settingsPage{}
	}
	v.Title = "Settings"
	if a, err := h.Admin.AlertSettings(ctx); err == nil {
		v.Alerts = &alertsForm{Enabled: a.Enabled, Emails: strings.Join(a.Emails, ", "), WebhookURL: a.WebhookURL,
			HasWebhookSecret: a.HasWebhookSecret, TriggerFailures: a.TriggerFailures, PrinterFailures: a.PrinterFailures}
	} else if p == nil {
		p = h.problem(c, err)
	}
	st, err := h.Admin.SMTPSettings(ctx)
	if err != nil && p == nil {
		p = h.problem(c, err)
	}
	v.O = st
	if values == nil {
		values = smtpValues(st)
	}
	for _, f := range smtpFields {
		v.Form = append(v.Form, formField{field: f, Value: values[f.Key]})
	}
	if p != nil {
		v.Problem, status = p, p.Status
	}
	h.render(c, status, "settings", v)
}

func (h *HQ) saveSettings(c *gin.Context) {
	f := newForm(c, smtpFields, true)
	in := service.SMTPInput{FromAddress: c.PostForm("fromAddress"), FromName: c.PostForm("fromName"), Host: c.PostForm("host"),
		Port: f.number("port"), Username: c.PostForm("username"), Password: f.password("password"), TLS: f.check("tls"),
		AllowPlainAuth: c.PostForm("allowPlainAuth") != ""}
	err := f.err()
	if err == nil {
		_, err = h.Admin.PutSMTPSettings(c.Request.Context(), in)
	}
	if err != nil {
		p := h.pageProblem(c, err)
		h.showSettings(c, p.Status, p, submitted(c, smtpFields), nil)
		return
	}
	c.Redirect(http.StatusSeeOther, "/hq/settings?notice=saved")
}

func (h *HQ) saveAlertSettings(c *gin.Context) {
	in := service.AlertInput{Enabled: c.PostForm("enabled") == "on", WebhookURL: strings.TrimSpace(c.PostForm("webhookUrl")),
		RotateSecret: c.PostForm("rotateSecret") == "on"}
	in.Emails = strings.FieldsFunc(c.PostForm("emails"), func(r rune) bool { return r == ',' || r == '\n' || r == ' ' || r == '\r' })
	for k, dst := range map[string]**int{"triggerFailures": &in.TriggerFailures, "printerFailures": &in.PrinterFailures} {
		if v := strings.TrimSpace(c.PostForm(k)); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				h.showSettings(c, 422, invalid(k, k+" must be a number"), nil, nil)
				return
			}
			*dst = &n
		}
	}
	out, err := h.Admin.PutAlertSettings(c.Request.Context(), in)
	if err != nil {
		p := h.problem(c, err)
		h.showSettings(c, p.Status, p, nil, nil)
		return
	}
	if out.Secret != "" {
		// Shown once, like a trigger's secret: the page answers it now.
		h.showSettings(c, http.StatusOK, nil, nil, &settingsPage{AlertSecret: out.Secret,
			Page: Page{Notice: "Saved. Copy the alert webhook's signing secret now: it is not shown again."}})
		return
	}
	c.Redirect(http.StatusSeeOther, "/hq/settings?notice=saved#alerts")
}
