package api

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	oi "orderintake"
	"orderintake/store"
)

// problemKey is where fail leaves the problem document it wrote.
const problemKey = "orderintake.problem"

// keptRejectedBody is how much of a refused body is recorded.
const keptRejectedBody = 64 << 10

// capturedBody keeps the first bytes a handler reads of a request body.
type capturedBody struct {
	io.ReadCloser
	kept  []byte
	total int64
}

func (b *capturedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if room := keptRejectedBody - len(b.kept); room > 0 {
		b.kept = append(b.kept, p[:min(n, room)]...)
	}
	b.total += int64(n)
	return n, err
}

// recordRejections runs on the customer routes after the key check: a
// request that is refused for what it carries (a 4xx other than auth, rate
// limit or an unknown route or order) is recorded as a rejected request, so
// HQ shows the merchant's bad orders and why they were refused. Recording is
// best effort: the client's answer never waits long on it nor changes.
func (s *Server) recordRejections(c *gin.Context) {
	start := time.Now().UTC()
	body := &capturedBody{ReadCloser: c.Request.Body}
	c.Request.Body = body
	c.Next()

	st := c.Writer.Status()
	if c.Request.Method != http.MethodPost || st < 400 || st >= 500 || !recordedStatus(st) {
		return
	}
	p, _ := c.Get("principal")
	pr, _ := p.(*principal)
	if pr == nil || pr.customer == nil {
		return
	}
	problem := map[string]any{}
	if v, ok := c.Get(problemKey); ok {
		if m, ok := v.(map[string]any); ok {
			for k, v := range m {
				problem[k] = v
			}
		}
	}
	problem["status"] = st
	problem["method"] = c.Request.Method
	problem["path"] = c.Request.URL.Path
	problem["bodyBytesRead"] = body.total
	problem["bodyTruncated"] = body.total > int64(len(body.kept))
	reason, _ := problem["detail"].(string)
	if reason == "" {
		reason = http.StatusText(st)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), 3*time.Second)
	defer cancel()
	err := s.Store.InsertRejectedRequest(ctx, store.RejectedRequest{
		ID: oi.NewID("req"), CustomerID: pr.customer.ID, PrinterID: pr.customer.PrinterID,
		IdempotencyKey: c.GetHeader("Idempotency-Key"), ReceivedAt: start, ContentType: c.GetHeader("Content-Type"),
		Headers: keptHeaders(c.Request.Header), Body: body.kept, Reason: reason, Problem: problem,
	})
	if err != nil {
		s.log.Warn("record rejected request", "customerId", pr.customer.ID, "path", c.Request.URL.Path, "status", st, "error", err)
	}
}

// recordedStatus: refusals about the request itself. 401/403 never reach
// here with a customer, 404 names an unknown order or route, 405 a method,
// 429 is throttling (recording it would let a flood fill the table).
func recordedStatus(st int) bool {
	switch st {
	case http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusTooManyRequests,
		http.StatusUnauthorized, http.StatusForbidden:
		return false
	}
	return true
}
