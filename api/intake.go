package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	oi "orderintake"
	"orderintake/mapper"
	"orderintake/service"
	"orderintake/workflows"
)

// readBody reads at most limit bytes; more is ETOOLARGE.
func readBody(c *gin.Context, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	var tooBig *http.MaxBytesError
	var netErr net.Error
	if errors.As(err, &tooBig) {
		return nil, oi.Errorf(oi.ETOOLARGE, "body is larger than %d bytes", limit)
	} else if errors.As(err, &netErr) && netErr.Timeout() {
		// The server's read timeout cut a client that sends too slowly.
		return nil, oi.Errorf(oi.ETIMEOUT, "the request body did not arrive in time")
	} else if err != nil {
		return nil, &oi.Error{Code: oi.EMALFORMED, Message: "could not read the request body"}
	}
	return body, nil
}

// orderContentType accepts JSON and XML media types ("" = sniff).
func orderContentType(h string) (string, error) {
	if h == "" {
		return "", nil
	}
	mt, _, err := mime.ParseMediaType(h)
	if err != nil {
		return "", &oi.Error{Code: oi.EUNSUPPORTED, Field: "Content-Type", Message: "Content-Type is not a valid media type"}
	}
	switch {
	case mt == "application/json", mt == "application/xml", mt == "text/xml",
		strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"):
		return mt, nil
	}
	return "", &oi.Error{Code: oi.EUNSUPPORTED, Field: "Content-Type", Message: "orders are JSON (application/json) or XML (application/xml); got " + mt}
}

// parseOrderBody parses an order body into the template input.
func parseOrderBody(contentType string, body []byte) (any, error) {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil, &oi.Error{Code: oi.EMALFORMED, Field: "body", Message: "the order body is empty"}
	}
	v, _, err := mapper.ParseInputOrdered(contentType, body) // templates see mappings in the body's order
	if err != nil {
		e := &oi.Error{Code: oi.EMALFORMED, Field: "body", Message: "the order body does not parse: " + err.Error()}
		var ie *mapper.InputError
		if errors.As(err, &ie) {
			e.Message = "the order body does not parse: " + ie.Message
			e.Detail = map[string]any{"line": ie.Line, "column": ie.Column}
		}
		return nil, e
	}
	return v, nil
}

// orderKey decides the idempotency key: the Idempotency-Key header, else the
// reference (the customer's expression's, which never is empty, or a default
// field's), else a fresh ULID.
func orderKey(header, reference string) (string, error) {
	if header != "" {
		if len(header) > 255 || !printable(header) {
			return "", &oi.Error{Code: oi.EINVALID, Field: "Idempotency-Key", Message: "Idempotency-Key must be 1 to 255 printable characters"}
		}
		return header, nil
	}
	if reference != "" {
		return reference, nil
	}
	return oi.NewOrderKey(), nil
}

// referenceFields are looked for, in order, when the customer has no
// reference expression: at the top of a JSON body, or under an XML root.
var referenceFields = []string{"orderReferenceId", "orderReference", "referenceId", "reference"}

// defaultReference finds the merchant's order reference in a parsed body.
func defaultReference(body any) string {
	m, ok := mapper.AsMap(body)
	if !ok {
		return ""
	}
	for _, scope := range []map[string]any{m, soleChild(m)} {
		for _, f := range referenceFields {
			switch v := scope[f].(type) {
			case string:
				return strings.TrimSpace(v)
			case int64, float64:
				return fmt.Sprint(v)
			}
		}
	}
	return ""
}

// soleChild is the object under a single root key (an XML document element).
func soleChild(m map[string]any) map[string]any {
	if len(m) != 1 {
		return nil
	}
	for _, v := range m {
		c, _ := mapper.AsMap(v)
		return c
	}
	return nil
}

// referenceOf evaluates the customer's reference expression. There is no
// fallback: an order it gives no reference for is refused (422, naming the
// expression and why), since a fresh key per try would let a merchant's
// retry print the order again.
func (s *Server) referenceOf(ctx context.Context, expr string, data map[string]any) (string, error) {
	v, err := s.Mapper.EvalExpression(ctx, expr, data)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "", oi.Errorf(oi.ETIMEOUT, "the request ended before the order reference was computed")
	}
	why, verb := v.Missing, "gives none"
	detail := map[string]any{"referenceExpression": expr}
	if err != nil {
		why, verb = err.Error(), "fails"
		var me *mapper.Error
		if errors.As(err, &me) {
			why = me.Message
			if me.Line > 0 {
				detail["line"], detail["column"] = me.Line, me.Column
			}
		}
	}
	if why == "" {
		return v.Text, nil
	}
	return "", &oi.Error{Code: oi.EINVALID, Field: "body",
		Message: fmt.Sprintf("the order has no reference: this customer's reference expression %q %s (%s); "+
			"send the order with its reference, or ask for the expression to be changed", expr, verb, why), Detail: detail}
}

func (s *Server) submitOrder(c *gin.Context) {
	ctx := c.Request.Context()
	cust := who(c).customer
	// The body is read first so that a refused request is recorded with it.
	body, err := readBody(c, MaxOrderBody)
	if err != nil {
		s.fail(c, err)
		return
	}
	ct, err := orderContentType(c.GetHeader("Content-Type"))
	if err != nil {
		s.fail(c, err)
		return
	}
	parsed, err := parseOrderBody(ct, body)
	if err != nil {
		s.fail(c, err)
		return
	}
	now := time.Now().UTC()
	headers := keptHeaders(c.Request.Header)
	reference := defaultReference(parsed)
	if expr := cust.ReferenceExpression; expr != "" {
		data := mapper.IntakeContext(parsed, headers, mapper.CustomerInfo{ID: cust.ID, Name: cust.Name, ReferenceID: cust.ReferenceID}, now)
		if reference, err = s.referenceOf(ctx, expr, data); err != nil {
			s.fail(c, err)
			return
		}
	}
	if len(reference) > 255 {
		reference = strings.ToValidUTF8(reference[:255], "") // not half a character
	}
	if !printable(reference) {
		s.fail(c, oi.FieldError("orderReferenceId", "the order reference must be printable text (no control characters or invalid UTF-8)"))
		return
	}
	key, err := orderKey(c.GetHeader("Idempotency-Key"), reference)
	if err != nil {
		s.fail(c, err)
		return
	}
	sum := sha256.Sum256(body)
	bodyHash := hex.EncodeToString(sum[:])
	in := workflows.OrderInput{
		OrderID: oi.OrderID(cust.ID, key), CustomerID: cust.ID, Key: key, OrderReferenceID: reference,
		ReceivedAt: now, ContentType: ct, Headers: headers, Body: body,
	}
	if ct == "" {
		in.ContentType = sniffContentType(body)
	}
	res, err := s.workflows.StartOrder(ctx, in, bodyHash)
	if err != nil {
		s.fail(c, err)
		return
	}
	status := http.StatusAccepted
	if res.Repeat {
		status = http.StatusOK
	}
	c.JSON(status, s.orderAccepted(res.OrderID, res.Reference, res.Status, res.WorkflowID))
}

func (s *Server) orderAccepted(id, reference, status, wfID string) OrderAccepted {
	return OrderAccepted{ID: id, OrderReferenceID: reference, Status: status,
		Links: withWorkflow(service.LinksOf(id), s.workflowURL(wfID))}
}

// keptHeaders keeps the request headers worth recording, minus credentials.
func keptHeaders(h http.Header) map[string][]string {
	out := make(map[string][]string, len(h))
	for k, v := range h {
		lk := strings.ToLower(k)
		if oi.SecretHeader(lk) { // the one rule for stored and shown headers
			continue
		}
		out[lk] = v
	}
	return out
}

func sniffContentType(body []byte) string {
	if t := strings.TrimSpace(string(body)); strings.HasPrefix(t, "<") {
		return "application/xml"
	}
	return "application/json"
}

func (s *Server) getOrder(c *gin.Context) {
	cust := who(c).customer
	o, err := s.Store.GetOrderRequest(c.Request.Context(), c.Param("id"))
	if err == nil && o.CustomerID != cust.ID {
		err = oi.Errorf(oi.ENOTFOUND, "order not found") // another customer's order does not exist for this key
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	events, err := s.Store.ListOrderEvents(c.Request.Context(), o.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	timeline := make([]TimelineEvent, 0, len(events))
	for _, e := range events {
		if !e.Accepted {
			continue
		}
		timeline = append(timeline, TimelineEvent{EventID: e.EventID, Status: e.Status, Timestamp: e.OccurredAt,
			Message: e.Message, TrackingCode: e.TrackingCode, TrackingURL: e.TrackingURL, CarrierName: e.CarrierName})
	}
	cancels, err := s.cancelsView(c, o.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, OrderStatus{ID: o.ID, OrderReferenceID: o.OrderReferenceID, Status: o.Status,
		StatusReason: o.StatusReason, ReceivedAt: o.ReceivedAt, UpdatedAt: o.UpdatedAt, Events: timeline,
		PrinterOrderID: o.PrinterOrderID, Try: o.Try, Cancels: cancels})
}

// printable: valid UTF-8 without control characters. Keys and references
// name workflows and go into text columns, which cannot hold NUL.
func printable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

func withWorkflow(l service.OrderLinks, workflowURL string) service.OrderLinks {
	l.Workflow = workflowURL
	return l
}
