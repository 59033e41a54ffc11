package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"orderintake/internal/problem"
)

// fail writes err as application/problem+json (its status and fields from
// internal/problem, the one mapping HQ shares). Internal errors are logged
// with their cause and shown only as "internal error".
func (s *Server) fail(c *gin.Context, err error) {
	pr := problem.Of(err)
	status := pr.Status
	p := map[string]any{
		"type":     pr.Type(),
		"title":    pr.Title,
		"status":   status,
		"code":     pr.Code,
		"detail":   pr.Detail,
		"instance": c.Request.URL.Path,
	}
	if pr.Field != "" {
		p["field"] = pr.Field
	}
	for k, v := range pr.Extra {
		p[k] = v
	}
	if status >= 500 {
		s.log.Error("request failed", append(orderAttrs(c), "method", c.Request.Method, "path", c.FullPath(), "status", status, "error", err)...)
	}
	if (status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests) && c.Writer.Header().Get("Retry-After") == "" {
		c.Header("Retry-After", "5") // the rate limiter sets its own
	}
	c.Set(problemKey, p) // for recordRejections
	c.Header("Content-Type", "application/problem+json")
	c.AbortWithStatusJSON(status, p) // keeps the Content-Type set above
}
