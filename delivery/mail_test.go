package delivery

import (
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	smtpmock "github.com/mocktools/go-smtp-mock/v2"

	"orderintake/internal/smtptest"
)

func startMock(t *testing.T, cfg smtpmock.ConfigurationAttr) *smtpmock.Server {
	t.Helper()
	cfg.HostAddress = "127.0.0.1"
	srv := smtpmock.New(cfg)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	return srv
}

func mockSettings(port int) SMTPSettings {
	return SMTPSettings{FromAddress: "noreply@psp.example", FromName: "PSP Notifications", Host: "127.0.0.1", Port: port}
}

var shippedMail = Email{
	MessageID: "<evt-42@orderintake>",
	To:        []string{"buyer@shop.example"},
	Subject:   "Your order shipped",
	Text:      "Tracking: 1Z999",
	HTML:      "<p>Tracking: <b>1Z999</b></p>",
}

func TestMailDelivered(t *testing.T) {
	// go-mail sends RSET after DATA; without this the mock forgets the message on RSET.
	srv := startMock(t, smtpmock.ConfigurationAttr{MultipleMessageReceiving: true})
	m := NewMailer(loopbackOnly, 5*time.Second)

	res := m.Send(context.Background(), mockSettings(srv.PortNumber()), shippedMail)
	a := res.Attempt
	if res.Outcome != Delivered || a.ResponseStatus != 250 || a.ErrorKind != "" {
		t.Fatalf("got %s/%d/%q: %s", res.Outcome, a.ResponseStatus, a.ErrorKind, a.Error)
	}
	if a.ResolvedIP != "127.0.0.1" || a.RequestHeaders["Message-ID"] != "<evt-42@orderintake>" ||
		a.RequestHeaders["Subject"] != "Your order shipped" || !strings.Contains(a.RequestHeaders["From"], "PSP Notifications") {
		t.Errorf("attempt record: ip %q headers %v", a.ResolvedIP, a.RequestHeaders)
	}

	msgs, err := srv.WaitForMessages(1, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	got := msgs[0]
	if got.HeloRequest() != "EHLO orderintake.local" {
		t.Errorf("greeting %q", got.HeloRequest())
	}
	if !strings.Contains(got.MailfromRequest(), "<noreply@psp.example>") {
		t.Errorf("MAIL FROM %q", got.MailfromRequest())
	}
	if rr := got.RcpttoRequestResponse(); len(rr) != 1 || !strings.Contains(rr[0][0], "<buyer@shop.example>") {
		t.Errorf("RCPT TO %v", rr)
	}

	// What the server received is a well-formed message with our headers and both parts.
	parsed, err := netmail.ReadMessage(strings.NewReader(got.MsgRequest()))
	if err != nil {
		t.Fatalf("received message does not parse: %v\n%s", err, got.MsgRequest())
	}
	h := parsed.Header
	from, _ := netmail.ParseAddress(h.Get("From"))
	if from == nil || from.Name != "PSP Notifications" || from.Address != "noreply@psp.example" {
		t.Errorf("From %q", h.Get("From"))
	}
	if h.Get("Message-ID") != "<evt-42@orderintake>" || h.Get("Subject") != "Your order shipped" ||
		h.Get("To") != "<buyer@shop.example>" || h.Get("Auto-Submitted") != "auto-generated" {
		t.Errorf("headers %v", h)
	}
	mt, params, _ := mime.ParseMediaType(h.Get("Content-Type"))
	if mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q", h.Get("Content-Type"))
	}
	parts := map[string]string{}
	mr := multipart.NewReader(parsed.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(p) // multipart decodes quoted-printable
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		parts[ct] = strings.TrimSpace(string(b))
	}
	if parts["text/plain"] != shippedMail.Text || parts["text/html"] != shippedMail.HTML {
		t.Errorf("parts %v", parts)
	}
	// The record is the message as sent (the server strips the final CRLF.CRLF).
	if !strings.Contains(string(a.RequestBody), "Message-ID: <evt-42@orderintake>") ||
		!strings.Contains(strings.ReplaceAll(got.MsgRequest(), "\r\n", "\n"), strings.TrimSpace(strings.ReplaceAll(string(a.RequestBody), "\r\n", "\n"))) {
		t.Errorf("recorded body differs from the one received:\n%s\n---\n%s", a.RequestBody, got.MsgRequest())
	}
}

func TestMailReplyCodes(t *testing.T) {
	srv := startMock(t, smtpmock.ConfigurationAttr{
		BlacklistedRcpttoEmails:   []string{"busy@shop.example"},
		MsgRcpttoBlacklistedEmail: "451 4.3.0 Mailbox temporarily unavailable",
		NotRegisteredEmails:       []string{"nobody@shop.example"}, // 550 User not found
	})
	m := NewMailer(loopbackOnly, 5*time.Second)
	for _, tc := range []struct {
		to      string
		outcome Outcome
		code    int
	}{
		{"busy@shop.example", Retry, 451},
		{"nobody@shop.example", Permanent, 550},
	} {
		e := shippedMail
		e.To = []string{tc.to}
		res := m.Send(context.Background(), mockSettings(srv.PortNumber()), e)
		if res.Outcome != tc.outcome || res.Attempt.ErrorKind != "smtp" || res.Attempt.ResponseStatus != tc.code {
			t.Errorf("%s: got %s/%q/%d: %s", tc.to, res.Outcome, res.Attempt.ErrorKind, res.Attempt.ResponseStatus, res.Attempt.Error)
		}
	}
}

func TestMailConnectionProblems(t *testing.T) {
	t.Run("server down", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		_ = ln.Close()
		res := NewMailer(loopbackOnly, 5*time.Second).Send(context.Background(), mockSettings(port), shippedMail)
		if res.Outcome != Retry || res.Attempt.ErrorKind != "connect" {
			t.Fatalf("got %s/%q: %s", res.Outcome, res.Attempt.ErrorKind, res.Attempt.Error)
		}
	})

	t.Run("blocked host", func(t *testing.T) {
		srv := startMock(t, smtpmock.ConfigurationAttr{})
		res := NewMailer(&Guard{}, 5*time.Second).Send(context.Background(), mockSettings(srv.PortNumber()), shippedMail)
		if res.Outcome != Permanent || res.Attempt.ErrorKind != "blocked" || res.Attempt.ResolvedIP != "127.0.0.1" {
			t.Fatalf("got %s/%q ip %q: %s", res.Outcome, res.Attempt.ErrorKind, res.Attempt.ResolvedIP, res.Attempt.Error)
		}
		time.Sleep(50 * time.Millisecond)
		if n := len(srv.Messages()); n != 0 {
			t.Fatalf("blocked send reached the server (%d sessions)", n)
		}
	})

	t.Run("TLS required but no STARTTLS", func(t *testing.T) {
		srv := startMock(t, smtpmock.ConfigurationAttr{})
		s := mockSettings(srv.PortNumber())
		s.TLS = true
		res := NewMailer(loopbackOnly, 5*time.Second).Send(context.Background(), s, shippedMail)
		if res.Outcome != Permanent || res.Attempt.ErrorKind != "tls" {
			t.Fatalf("got %s/%q: %s", res.Outcome, res.Attempt.ErrorKind, res.Attempt.Error)
		}
	})

	t.Run("bad settings", func(t *testing.T) {
		m := NewMailer(loopbackOnly, time.Second)
		for _, tc := range []struct {
			s SMTPSettings
			e Email
		}{
			{SMTPSettings{FromAddress: "not an address", Host: "127.0.0.1", Port: 25}, shippedMail},
			{mockSettings(25), Email{Subject: "no recipient"}},
			{SMTPSettings{FromAddress: "a@b.example", Host: "", Port: 25}, shippedMail},
			{SMTPSettings{FromAddress: "a@b.example", Host: "unix:///run/smtp.sock"}, shippedMail},
		} {
			res := m.Send(context.Background(), tc.s, tc.e)
			if res.Outcome != Permanent || res.Attempt.ErrorKind != "config" {
				t.Errorf("%+v: got %s/%q: %s", tc.s, res.Outcome, res.Attempt.ErrorKind, res.Attempt.Error)
			}
		}
	})
}

func TestMailAuthRefused(t *testing.T) {
	const password = "hunter2-very-secret"
	for _, tc := range []struct {
		reply   string
		outcome Outcome
		kind    string
		code    int
	}{
		{"535 5.7.8 Authentication credentials invalid", Permanent, "config", 535},
		{"454 4.7.0 Temporary authentication failure", Retry, "smtp", 454},
	} {
		port, seen := smtptest.AuthServer(t, tc.reply)
		s := mockSettings(port)
		s.Username, s.Password = "psp-mailer", password
		s.AllowPlainAuth = true // the test server offers no STARTTLS
		res := NewMailer(loopbackOnly, 5*time.Second).Send(context.Background(), s, shippedMail)
		a := res.Attempt
		if res.Outcome != tc.outcome || a.ErrorKind != tc.kind || a.ResponseStatus != tc.code {
			t.Errorf("%s: got %s/%q/%d: %s", tc.reply, res.Outcome, a.ErrorKind, a.ResponseStatus, a.Error)
		}
		if tc.kind == "config" && !strings.Contains(a.Error, "refused the credentials") {
			t.Errorf("error should say the credentials were refused: %q", a.Error)
		}
		if len(seen()) != 1 || !strings.HasPrefix(seen()[0], "AUTH PLAIN") {
			t.Errorf("AUTH exchange: %v", seen())
		}
		if dump := fmt.Sprintf("%+v", res); strings.Contains(dump, password) {
			t.Error("the SMTP password leaked into the Result")
		}
	}
}

// Credentials with TLS off: refused before any AUTH (the password would travel
// in clear) unless the settings say allowPlainAuth.
func TestMailNeverOffersAuthInClearUnlessAllowed(t *testing.T) {
	const password = "hunter2-very-secret"
	port, seen := smtptest.AuthServer(t, "235 2.7.0 Authentication successful")
	s := mockSettings(port)
	s.Username, s.Password = "psp-mailer", password
	res := NewMailer(loopbackOnly, 5*time.Second).Send(context.Background(), s, shippedMail)
	if res.Outcome != Permanent || res.Attempt.ErrorKind != KindConfig || !strings.Contains(res.Attempt.Error, "allowPlainAuth") {
		t.Fatalf("send with credentials and no TLS = %s/%q: %s, want a permanent config error naming allowPlainAuth",
			res.Outcome, res.Attempt.ErrorKind, res.Attempt.Error)
	}
	if len(seen()) != 0 {
		t.Fatalf("AUTH was offered in clear: %v", seen())
	}

	s.AllowPlainAuth = true
	_ = NewMailer(loopbackOnly, 5*time.Second).Send(context.Background(), s, shippedMail)
	if len(seen()) != 1 || !strings.HasPrefix(seen()[0], "AUTH PLAIN") {
		t.Fatalf("with allowPlainAuth the AUTH exchange = %v, want one AUTH PLAIN", seen())
	}
}
