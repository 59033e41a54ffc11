// Package problem turns the domain's errors (*orderintake.Error and its
// codes) into problems: the HTTP status, title and fields that api writes
// as application/problem+json and hq shows on its pages. The code → status
// table is here and nowhere else.
package problem

import (
	"errors"
	"net/http"
	"strings"

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

// Status is the HTTP status of an error code (500 for an unknown one).
func Status(code string) int {
	if s := statusOf[code]; s != 0 {
		return s
	}
	return http.StatusInternalServerError
}

// Problem is an error as a client is shown it. Internal errors show only
// "internal error" (oi.ErrorMessage); their cause is for the log.
type Problem struct {
	Status int
	Title  string
	Code   string
	Detail string
	// Field names the input at fault; Extra is the error's own detail
	// (kind, where, line, column, excerpt, warnings, retryAfter…).
	Field string
	Extra map[string]any
}

// Of is err as a problem.
func Of(err error) *Problem {
	code := oi.ErrorCode(err)
	status := Status(code)
	p := &Problem{Status: status, Title: http.StatusText(status), Code: code, Detail: oi.ErrorMessage(err)}
	var e *oi.Error
	if errors.As(err, &e) {
		p.Field, p.Extra = e.Field, e.Detail
	}
	return p
}

// Type is the problem's type URI.
func (p *Problem) Type() string {
	return "https://orderintake.dev/problems/" + strings.ReplaceAll(p.Code, "_", "-")
}
