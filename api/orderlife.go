package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	oi "orderintake"
	"orderintake/service"
	"orderintake/workflows"
)

// The order's life after intake: cancel, resubmit, the customer's search.
// Every handler is a thin face over service.OrderLife, which HQ uses too.

// cancelBody reads the optional cancel body (JSON or XML, the cancel
// template's input).
func cancelBody(c *gin.Context, source string) (workflows.CancelInput, error) {
	in := workflows.CancelInput{Source: source}
	body, err := readBody(c, MaxOrderBody)
	if err != nil {
		return in, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return in, nil
	}
	ct, err := orderContentType(c.GetHeader("Content-Type"))
	if err != nil {
		return in, err
	}
	if _, err := parseOrderBody(ct, body); err != nil {
		return in, err
	}
	if ct == "" {
		ct = sniffContentType(body)
	}
	in.ContentType, in.Headers, in.Body = ct, keptHeaders(c.Request.Header), body
	return in, nil
}

// cancelOrder is POST /v1/orders/{id}/cancel: 200 canceled, 202
// cancel_pending, 409 too late or refused by the printer.
func (s *Server) cancelOrder(c *gin.Context) {
	in, err := cancelBody(c, "customer")
	if err != nil {
		s.fail(c, err)
		return
	}
	ans, err := s.life.Cancel(c.Request.Context(), who(c).customer.ID, c.Param("id"), in)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(ans.HTTPStatus, ans)
}

// adminCancel is POST /v1/admin/requests/{id}/cancel: the customer's cancel,
// asked by an operator.
func (s *Server) adminCancel(c *gin.Context) {
	in, err := cancelBody(c, "admin")
	if err != nil {
		s.fail(c, err)
		return
	}
	ans, err := s.life.Cancel(c.Request.Context(), "", c.Param("id"), in)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(ans.HTTPStatus, ans)
}

// resubmitOrder is POST /v1/admin/requests/{id}/resubmit.
func (s *Server) resubmitOrder(c *gin.Context) {
	ans, err := s.life.Resubmit(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, ans)
}

// resubmitWindow is POST /v1/admin/requests/resubmit {customerId, from, to}.
func (s *Server) resubmitWindow(c *gin.Context) {
	var b service.BulkResubmit
	if !s.bind(c, &b) {
		return
	}
	ans, err := s.life.ResubmitWindow(c.Request.Context(), b)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, ans)
}

// searchOrders is GET /v1/orders: the customer's own orders.
func (s *Server) searchOrders(c *gin.Context) {
	q := service.OrderSearch{Reference: c.Query("reference"), Status: c.Query("status"), Cursor: c.Query("cursor")}
	var err error
	if q.From, err = queryTime(c, "from"); err != nil {
		s.fail(c, err)
		return
	}
	if q.To, err = queryTime(c, "to"); err != nil {
		s.fail(c, err)
		return
	}
	if v := c.Query("limit"); v != "" {
		if q.Limit, err = strconv.Atoi(v); err != nil || q.Limit < 1 {
			s.fail(c, oi.FieldError("limit", "limit must be a number from 1 to 500"))
			return
		}
	}
	page, err := s.life.SearchOrders(c.Request.Context(), who(c).customer.ID, q)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, page)
}

func queryTime(c *gin.Context, name string) (time.Time, error) {
	v := c.Query(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, oi.FieldError(name, "%s must be an RFC 3339 time like 2026-11-28T00:00:00Z", name)
	}
	return t, nil
}

// cancelsView is the cancels of an order as GET /v1/orders/{id} shows them.
func (s *Server) cancelsView(c *gin.Context, orderID string) ([]CancelSummary, error) {
	list, err := s.Store.ListCancels(c.Request.Context(), orderID)
	if err != nil {
		return nil, err
	}
	out := make([]CancelSummary, 0, len(list))
	for _, cr := range list {
		v := CancelSummary{ID: cr.ID, Outcome: cr.Outcome, OutcomeReason: cr.OutcomeReason, PrinterCalled: cr.PrinterCalled,
			RequestedAt: cr.RequestedAt, UpdatedAt: cr.UpdatedAt}
		if cr.Response != nil {
			v.PrinterStatus = cr.Response.Status
		}
		out = append(out, v)
	}
	return out, nil
}

// respondAs renders the answer of the route after it (our standard JSON)
// through the customer's response template of kind, when the customer has
// one. The handler is unchanged; a failing template leaves the standard
// answer (logged and counted by the service).
func (s *Server) respondAs(kind string) gin.HandlerFunc {
	return func(c *gin.Context) {
		cust := who(c).customer
		if cust == nil || (kind == oi.KindSubmitResponse && cust.SubmitResponseTemplateID == "") ||
			(kind == oi.KindCancelResponse && cust.CancelResponseTemplateID == "") {
			c.Next()
			return
		}
		w := &heldAnswer{ResponseWriter: c.Writer, status: http.StatusOK}
		c.Writer = w
		c.Next()
		c.Writer = w.ResponseWriter
		var standard map[string]any
		_ = json.Unmarshal(w.body.Bytes(), &standard)
		var order *service.AnswerOrder
		var problem map[string]any
		if w.status >= 400 {
			problem = standard
		} else if standard != nil {
			order = &service.AnswerOrder{Links: map[string]string{}}
			order.ID, _ = standard["id"].(string)
			order.OrderReferenceID, _ = standard["orderReferenceId"].(string)
			order.Status, _ = standard["status"].(string)
			if links, ok := standard["links"].(map[string]any); ok {
				for k, v := range links {
					order.Links[k], _ = v.(string)
				}
			}
		}
		if r, ok := s.life.Respond(c.Request.Context(), cust.ID, kind, w.status, order, problem); ok {
			c.Writer.Header().Set("Content-Type", r.ContentType)
			c.Writer.WriteHeader(w.status)
			_, _ = c.Writer.Write(r.Body)
			return
		}
		c.Writer.WriteHeader(w.status)
		_, _ = c.Writer.Write(w.body.Bytes())
	}
}

// heldAnswer holds a handler's answer so that respondAs can rewrite it.
type heldAnswer struct {
	gin.ResponseWriter
	status  int
	body    bytes.Buffer
	written bool
}

func (w *heldAnswer) WriteHeader(code int) { w.status, w.written = code, true }
func (w *heldAnswer) WriteHeaderNow()      { w.written = true }
func (w *heldAnswer) Write(b []byte) (int, error) {
	w.written = true
	return w.body.Write(b)
}
func (w *heldAnswer) WriteString(s string) (int, error) {
	w.written = true
	return w.body.WriteString(s)
}
func (w *heldAnswer) Status() int   { return w.status }
func (w *heldAnswer) Size() int     { return w.body.Len() }
func (w *heldAnswer) Written() bool { return w.written }
