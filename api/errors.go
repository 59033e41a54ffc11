package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	oi "orderintake"
)

// statusOf maps error codes to HTTP statuses: the one place it happens.
var statusOf = map[string]int{
	oi.EINVALID:      http.StatusUnprocessableEntity,
	oi.EMALFORMED:    http.StatusBadRequest,
	oi.ENOTFOUND:     http.StatusNotFound,
	oi.ECONFLICT:     http.StatusConflict,
	oi.EUNAUTHORIZED: http.StatusUnauthorized,
	oi.EFORBIDDEN:    http.StatusForbidden,
	oi.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	oi.EUNSUPPORTED:  http.StatusUnsupportedMediaType,
	oi.EUNAVAILABLE:  http.StatusServiceUnavailable,
	oi.EINTERNAL:     http.StatusInternalServerError,
	oi.ETEMPLATE:     http.StatusUnprocessableEntity,
	oi.ERATELIMITED:  http.StatusTooManyRequests,
	oi.ETIMEOUT:      http.StatusRequestTimeout,
	oi.EHEADERS:      http.StatusRequestHeaderFieldsTooLarge,
}

// fail writes err as application/problem+json. Internal errors are logged
// with their cause and shown only as "internal error".
func (s *Server) fail(c *gin.Context, err error) {
	code := oi.ErrorCode(err)
	status := statusOf[code]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	p := map[string]any{
		"type":     "https://orderintake.dev/problems/" + strings.ReplaceAll(code, "_", "-"),
		"title":    http.StatusText(status),
		"status":   status,
		"code":     code,
		"detail":   oi.ErrorMessage(err),
		"instance": c.Request.URL.Path,
	}
	var e *oi.Error
	if errors.As(err, &e) {
		if e.Field != "" {
			p["field"] = e.Field
		}
		for k, v := range e.Detail {
			p[k] = v
		}
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
