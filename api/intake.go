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
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	oi "orderintake"
	"orderintake/mapper"
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
	why := v.Missing
	detail := map[string]any{"referenceExpression": expr}
	if err != nil {
		why = err.Error()
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
		Message: fmt.Sprintf("the order has no reference: this customer's reference expression %q gives none (%s); "+
			"send the order with its reference, or ask for the expression to be changed", expr, why), Detail: detail}
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
	wfID := oi.WorkflowID(cust.ID, key)
	opts := client.StartWorkflowOptions{
		ID:                                       wfID,
		TaskQueue:                                workflows.TaskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		Memo:                                     map[string]any{workflows.MemoBodyHash: bodyHash, workflows.MemoOrderID: in.OrderID},
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.AttrCustomerID.ValueSet(cust.ID),
			workflows.AttrOrderReferenceID.ValueSet(reference),
			workflows.AttrOrderStatus.ValueSet(oi.StatusAccepted),
		),
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = s.Temporal.ExecuteWorkflow(sctx, opts, workflows.OrderWorkflow, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case err == nil:
		s.log.Info("order accepted", "orderId", in.OrderID, "workflowId", wfID, "customerId", cust.ID)
		c.JSON(http.StatusAccepted, s.orderAccepted(in.OrderID, reference, oi.StatusAccepted, wfID))
	case errors.As(err, &started):
		s.repeatedOrder(c, in.OrderID, reference, wfID, bodyHash)
	case timedOut(err):
		// The start may have reached Temporal before the deadline: say so. A
		// retry with the same key and body is safe (answered 200 if it landed).
		s.log.Error("start order workflow timed out", "orderId", in.OrderID, "workflowId", wfID, "error", err)
		s.fail(c, &oi.Error{Code: oi.EUNAVAILABLE, Message: "the order could not be confirmed in time; it may have been accepted. " +
			"Send the same request again (same body, same Idempotency-Key): a repeat is answered with the existing order", Detail: map[string]any{"orderId": in.OrderID}})
	default:
		s.log.Error("start order workflow", "orderId", in.OrderID, "workflowId", wfID, "error", err)
		s.fail(c, &oi.Error{Code: oi.EUNAVAILABLE, Message: "orders cannot be accepted right now; nothing was recorded, try again"})
	}
}

// repeatedOrder answers a request whose key already has an order: the same
// body gets the existing order (200), another body is a conflict (409).
func (s *Server) repeatedOrder(c *gin.Context, orderID, reference, wfID, bodyHash string) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 10*time.Second)
	defer cancel()
	desc, err := s.Temporal.DescribeWorkflowExecution(ctx, wfID, "")
	if err != nil {
		s.log.Error("describe order workflow", "workflowId", wfID, "error", err)
		s.fail(c, &oi.Error{Code: oi.EUNAVAILABLE, Message: "cannot look up the existing order right now; try again"})
		return
	}
	info := desc.GetWorkflowExecutionInfo()
	var prevHash string
	if p, ok := info.GetMemo().GetFields()[workflows.MemoBodyHash]; ok {
		_ = converter.GetDefaultDataConverter().FromPayload(p, &prevHash)
	}
	if prevHash != bodyHash {
		s.fail(c, &oi.Error{Code: oi.ECONFLICT, Field: "Idempotency-Key",
			Message: "an order with this key already exists with a different body", Detail: map[string]any{"orderId": orderID}})
		return
	}
	status := oi.StatusAccepted
	if o, err := s.Store.GetOrderRequest(ctx, orderID); err == nil {
		status, reference = o.Status, o.OrderReferenceID
	}
	c.JSON(http.StatusOK, s.orderAccepted(orderID, reference, status, wfID))
}

func (s *Server) orderAccepted(id, reference, status, wfID string) gin.H {
	links := gin.H{"self": "/v1/orders/" + id, "hq": "/hq/requests/" + id}
	if u := s.workflowURL(wfID); u != "" {
		links["workflow"] = u
	}
	return gin.H{"id": id, "orderReferenceId": reference, "status": status, "links": links}
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
	timeline := make([]gin.H, 0, len(events))
	for _, e := range events {
		if !e.Accepted {
			continue
		}
		timeline = append(timeline, gin.H{"eventId": e.EventID, "status": e.Status, "timestamp": e.OccurredAt,
			"message": e.Message, "trackingCode": e.TrackingCode, "trackingUrl": e.TrackingURL, "carrierName": e.CarrierName})
	}
	cancels, err := s.cancelsView(c, o.ID)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"id": o.ID, "orderReferenceId": o.OrderReferenceID, "status": o.Status,
		"statusReason": o.StatusReason, "receivedAt": o.ReceivedAt, "updatedAt": o.UpdatedAt, "events": timeline,
		"printerOrderId": o.PrinterOrderID, "try": o.Try, "cancels": cancels})
}

// printable: valid UTF-8 without control characters. Keys and references
// name workflows and go into text columns, which cannot hold NUL.
func printable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// timedOut reports whether a call to Temporal ended by its deadline, after
// which the call's effect is unknown.
func timedOut(err error) bool {
	var dl *serviceerror.DeadlineExceeded
	var cn *serviceerror.Canceled
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || errors.As(err, &dl) || errors.As(err, &cn)
}
