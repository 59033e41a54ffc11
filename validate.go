package orderintake

import (
	"net"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"
)

// Validation of the domain types: what a value must hold to be stored,
// whoever wrote it (the JSON API, an HQ form, a seed). Each error is an
// EINVALID *Error naming its field. Checks that need other packages (a
// template's syntax, a reference expression) are the services'.

// Validate checks a customer.
func (c *Customer) Validate() error {
	return firstErr(required("name", c.Name), required("referenceId", c.ReferenceID))
}

// Validate checks a printer.
func (p *Printer) Validate() error {
	err := firstErr(required("name", p.Name), validURL("url", p.URL), oneOf("format", p.Format, FormatJSON, FormatXML))
	if err == nil && (p.TimeoutMs < 100 || p.TimeoutMs > 120000) {
		err = FieldError("timeoutMs", "timeoutMs must be between 100 and 120000")
	}
	return err
}

// Validate checks a template's fields (not its syntax: see mapper).
func (t *Template) Validate() error {
	return firstErr(required("name", t.Name), oneOf("kind", t.Kind, TemplateKinds...),
		oneOf("format", t.Format, FormatJSON, FormatXML, FormatText), required("body", t.Body))
}

// Validate checks a trigger: a webhook has a format and an http(s) URL, an
// e-mail trigger at least one address.
func (t *Trigger) Validate() error {
	err := firstErr(required("customerId", t.CustomerID), required("name", t.Name),
		oneOf("event", t.Event, Events...), oneOf("method", t.Method, MethodURL, MethodEmail),
		required("templateId", t.TemplateID), oneOf("status", t.Status, TriggerTest, TriggerActive, TriggerDisabled))
	if err != nil {
		return err
	}
	if t.Method == MethodURL {
		return firstErr(oneOf("format", t.Format, FormatJSON, FormatXML), validURL("url", t.URL))
	}
	if len(t.Emails) == 0 {
		return FieldError("emails", "an e-mail trigger needs at least one address in emails")
	}
	for i, e := range t.Emails {
		if !strings.Contains(e, "@") || strings.ContainsAny(e, " \r\n<>,") {
			return FieldError("emails["+strconv.Itoa(i)+"]", "%q is not an e-mail address", e)
		}
	}
	return nil
}

// Validate checks the outgoing mail settings.
func (s *SMTPSettings) Validate() error {
	if err := required("fromAddress", s.FromAddress); err != nil {
		return err
	}
	if a, err := netmail.ParseAddress(s.FromAddress); err != nil || a.Address != s.FromAddress {
		return FieldError("fromAddress", "fromAddress must be a bare e-mail address like notifications@psp.example (the name goes in fromName)")
	}
	for _, f := range []struct{ field, v string }{{"fromName", s.FromName}, {"username", s.Username}} {
		if strings.ContainsAny(f.v, "\r\n") {
			return FieldError(f.field, "%s must be one line", f.field)
		}
	}
	if err := required("host", s.Host); err != nil {
		return err
	}
	if strings.ContainsAny(s.Host, "/ \t\r\n@") {
		return FieldError("host", "host must be a host name or IP address")
	}
	if _, _, err := net.SplitHostPort(s.Host); err == nil {
		return FieldError("host", "host must not carry a port: put it in port")
	}
	if s.Port < 1 || s.Port > 65535 {
		return FieldError("port", "port must be from 1 to 65535 (587 for STARTTLS, 465 for TLS, 25 for plain)")
	}
	return nil
}

func required(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return FieldError(field, "%s is required", field)
	}
	return nil
}

func oneOf(field, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return FieldError(field, "%s must be one of %s", field, strings.Join(allowed, ", "))
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func validURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return FieldError(field, "%s must be an absolute http(s) URL", field)
	}
	return nil
}
