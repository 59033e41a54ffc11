package delivery

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"time"

	mail "github.com/wneessen/go-mail"
)

const (
	// DefaultMailTimeout bounds one e-mail attempt (connect, greeting, each command).
	DefaultMailTimeout = 30 * time.Second
	// DefaultHELO is what we introduce ourselves as. go-mail would use os.Hostname, which is
	// often "localhost" in containers, and some servers refuse that.
	DefaultHELO = "orderintake.local"
)

// SMTPSettings are the work settings' outgoing mail server.
type SMTPSettings struct {
	FromAddress, FromName string
	Host                  string
	Port                  int // 0: 587 with TLS, 25 without
	Username              string
	Password              string
	TLS                   bool // true: STARTTLS mandatory (or implicit TLS on 465); false: plain (no STARTTLS attempt)
	// AllowPlainAuth lets Username/Password travel over a connection without
	// TLS. Off (the default), a send with credentials and TLS off is refused
	// before connecting: whoever controls the path would read them.
	AllowPlainAuth bool
	HELO           string // default (and instead of "localhost"): DefaultHELO
}

// Email is one message to send.
type Email struct {
	MessageID string // derived from the event id by the caller, e.g. "<evt-…@orderintake>"; angle brackets optional
	To        []string
	Subject   string
	Text      string
	HTML      string // optional alternative
}

// Mailer sends e-mail through the operator's SMTP server, connecting through a Guard.
// It holds no connection: each Send dials, sends one message and quits, because postbacks
// are sparse and a held SMTP session would time out between them anyway.
type Mailer struct {
	guard     *Guard
	timeout   time.Duration
	tlsConfig *tls.Config // nil: system roots; tests put their own CA here
}

// NewMailer builds a Mailer whose connections go through g (nil: refuse private hosts).
// timeout 0 means 30 s.
func NewMailer(g *Guard, timeout time.Duration) *Mailer {
	if g == nil {
		g = &Guard{}
	}
	if timeout <= 0 {
		timeout = DefaultMailTimeout
	}
	return &Mailer{guard: g, timeout: timeout}
}

// Send makes one attempt. SendError.IsTemp() (4xx) and network/dial errors give Retry; 5xx
// gives Permanent; refused credentials give Permanent with ErrorKind "config"; a blocked
// host gives Permanent "blocked". It never returns an error: every failure is in the Result.
func (m *Mailer) Send(ctx context.Context, s SMTPSettings, e Email) (res Result) {
	start := time.Now()
	a := &res.Attempt
	a.StartedAt = start
	defer func() { a.Duration = time.Since(start) }()

	msg, err := buildMessage(s, e)
	if err != nil {
		res.fail(Permanent, KindConfig, err.Error())
		return res
	}
	a.RequestHeaders = map[string]string{
		"From":       strings.Join(msg.GetFromString(), ", "),
		"To":         strings.Join(msg.GetToString(), ", "),
		"Subject":    e.Subject,
		"Message-ID": msg.GetMessageID(),
	}
	var body bytes.Buffer
	// go-mail keeps the MIME boundaries it picked, so what we record is what is sent.
	if _, err := msg.WriteTo(&body); err != nil {
		res.fail(Permanent, KindConfig, "cannot render e-mail: "+err.Error())
		return res
	}
	a.RequestBody = body.Bytes()

	if s.Host == "" || strings.ContainsAny(s.Host, "/ ") {
		// go-mail would take "unix:///path" as a socket, which the Guard cannot vet.
		res.fail(Permanent, KindConfig, "SMTP host must be a host name or IP address")
		return res
	}
	port := s.Port
	if port == 0 {
		port = 25
		if s.TLS {
			port = 587
		}
	}
	if port < 1 || port > 65535 {
		res.fail(Permanent, KindConfig, fmt.Sprintf("SMTP port %d is out of range", port))
		return res
	}
	implicitTLS := s.TLS && port == 465
	tlsConf := m.tlsConfigFor(s.Host)

	var remoteMu sync.Mutex
	var remote string
	var conns []net.Conn
	defer func() {
		// go-mail leaves the connection open when EHLO or STARTTLS fails; closing twice is harmless.
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := m.guard.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		remoteMu.Lock()
		remote = addrIP(conn.RemoteAddr())
		conns = append(conns, conn)
		remoteMu.Unlock()
		if !implicitTLS {
			return conn, nil
		}
		// go-mail only wraps TLS itself when it dials; with our dialer we do it here.
		tc := tls.Client(conn, tlsConf)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = conn.Close()
			return nil, err
		}
		return tc, nil
	}

	helo := strings.TrimSpace(s.HELO)
	if helo == "" || strings.EqualFold(helo, "localhost") {
		helo = DefaultHELO
	}
	opts := []mail.Option{
		mail.WithPort(port),
		mail.WithTimeout(m.timeout),
		mail.WithHELO(helo),
		mail.WithDialContextFunc(dial),
		mail.WithTLSConfig(tlsConf),
	}
	switch {
	case implicitTLS:
		opts = append(opts, mail.WithSSL())
	case s.TLS:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	}
	if (s.Username != "" || s.Password != "") && !s.TLS && !s.AllowPlainAuth {
		res.fail(Permanent, KindConfig, "the SMTP settings have credentials but TLS is off: they would travel in clear. "+
			"Turn TLS on, or set allowPlainAuth for a relay on a trusted network")
		return res
	}
	if s.Username != "" || s.Password != "" {
		// Challenge-response mechanisms first. Without TLS (allowed by AllowPlainAuth:
		// typically a relay on a private network) PLAIN/LOGIN are allowed too.
		mechs := []mail.SMTPAuthType{mail.SMTPAuthSCRAMSHA256, mail.SMTPAuthSCRAMSHA1, mail.SMTPAuthCramMD5}
		if s.TLS {
			mechs = append(mechs, mail.SMTPAuthPlain, mail.SMTPAuthLogin)
		} else {
			mechs = append(mechs, mail.SMTPAuthPlainNoEnc, mail.SMTPAuthLoginNoEnc)
		}
		opts = append(opts, mail.WithOpportunisticSMTPAuth(mechs...),
			mail.WithUsername(s.Username), mail.WithPassword(s.Password))
	}
	client, err := mail.NewClient(s.Host, opts...)
	if err != nil {
		res.fail(Permanent, KindConfig, "SMTP settings: "+err.Error())
		return res
	}

	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	err = client.DialAndSendWithContext(ctx, msg)
	remoteMu.Lock()
	a.ResolvedIP = remote
	remoteMu.Unlock()

	if msg.IsDelivered() {
		// Accepted after DATA: a failure at QUIT must not make us send it twice.
		res.Outcome = Delivered
		a.ResponseStatus = 250
		a.ResponseBody = []byte(msg.ServerResponse())
		return res
	}
	if err == nil { // cannot happen with go-mail v0.8; keep the record honest if it does
		res.Outcome = Delivered
		return res
	}
	classifySMTP(&res, err)
	return res
}

func (m *Mailer) tlsConfigFor(host string) *tls.Config {
	var c *tls.Config
	if m.tlsConfig != nil {
		c = m.tlsConfig.Clone()
	} else {
		c = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	// We dial by IP; the certificate must still match the name the operator entered.
	c.ServerName = host
	return c
}

func buildMessage(s SMTPSettings, e Email) (*mail.Msg, error) {
	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())
	if err := msg.FromFormat(s.FromName, s.FromAddress); err != nil {
		return nil, fmt.Errorf("invalid from address %q: %w", s.FromAddress, err)
	}
	if len(e.To) == 0 {
		return nil, errors.New("e-mail has no recipient")
	}
	if err := msg.To(e.To...); err != nil {
		return nil, fmt.Errorf("invalid recipient: %w", err)
	}
	msg.Subject(e.Subject)
	id := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(e.MessageID), "<"), ">")
	if id == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:]) + "@orderintake"
	}
	if strings.ContainsAny(id, "<>\r\n \t") || !strings.Contains(id, "@") {
		return nil, fmt.Errorf("invalid Message-ID %q (want <local@domain>)", e.MessageID)
	}
	msg.SetMessageIDWithValue(id)
	msg.SetDate()
	msg.SetUserAgent("orderintake")
	// RFC 3834: tells auto-responders (out-of-office) not to answer a notification.
	msg.SetGenHeader(mail.Header("Auto-Submitted"), "auto-generated")
	switch {
	case e.Text != "" && e.HTML != "":
		msg.SetBodyString(mail.TypeTextPlain, e.Text)
		msg.AddAlternativeString(mail.TypeTextHTML, e.HTML)
	case e.HTML != "":
		msg.SetBodyString(mail.TypeTextHTML, e.HTML)
	default:
		msg.SetBodyString(mail.TypeTextPlain, e.Text)
	}
	return msg, nil
}

// classifySMTP fills res from a failed go-mail send.
func classifySMTP(res *Result, err error) {
	a := &res.Attempt
	msgText := err.Error()

	var se *mail.SendError
	if errors.As(err, &se) {
		code := se.ErrorCode()
		a.ResponseStatus = code
		switch {
		case se.IsTemp():
			res.fail(Retry, KindSMTP, msgText)
		case code >= 500:
			res.fail(Permanent, KindSMTP, msgText)
		case se.Reason == mail.ErrGetSender || se.Reason == mail.ErrGetRcpts || se.Reason == mail.ErrNoUnencoded:
			res.fail(Permanent, KindConfig, msgText)
		default: // no reply code: the connection broke mid-conversation
			res.fail(Retry, KindSMTP, msgText)
		}
		return
	}

	var tpe *textproto.Error
	hasCode := errors.As(err, &tpe)
	if hasCode {
		a.ResponseStatus = tpe.Code
	}
	switch {
	case strings.Contains(msgText, "SMTP AUTH failed"),
		strings.Contains(msgText, "does not support SMTP AUTH"),
		errors.Is(err, mail.ErrNoSupportedAuthDiscovered):
		if hasCode && tpe.Code/100 == 4 { // e.g. 454: the server's auth backend is down
			res.fail(Retry, KindSMTP, "SMTP authentication temporarily failed: "+tpe.Error())
			return
		}
		detail := "no usable AUTH mechanism offered"
		if hasCode {
			detail = tpe.Error()
		}
		res.fail(Permanent, KindConfig, "the SMTP server refused the credentials (check username and password): "+detail)
		return
	case strings.Contains(msgText, "does not support STARTTLS"):
		// Our policy, not the network: sending in the clear would leak the mail and the password.
		res.fail(Permanent, KindTLS, "the SMTP server does not offer STARTTLS and TLS is required by the settings")
		return
	}

	o, kind, ip := classifyNetErr(err)
	if ip != "" && a.ResolvedIP == "" {
		a.ResolvedIP = ip
	}
	if kind == "" {
		kind = KindSMTP
		if hasCode && tpe.Code >= 500 { // greeting or EHLO refused outright
			o = Permanent
		}
	}
	res.fail(o, kind, msgText)
}
