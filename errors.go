package orderintake

import (
	"errors"
	"fmt"
)

// Error codes, mapped to HTTP statuses in one place (api/errors.go).
const (
	EINVALID      = "invalid"        // 400/422: the request is wrong
	EMALFORMED    = "malformed"      // 400: the body does not parse
	ENOTFOUND     = "not_found"      // 404
	ECONFLICT     = "conflict"       // 409
	EUNAUTHORIZED = "unauthorized"   // 401
	EFORBIDDEN    = "forbidden"      // 403
	ETOOLARGE     = "too_large"      // 413
	EUNSUPPORTED  = "unsupported"    // 415
	EUNAVAILABLE  = "unavailable"    // 503
	EINTERNAL     = "internal"       // 500
	ETEMPLATE     = "template_error" // 422: a template failed to render
)

// Codes of the limits every caller meets (rate, time, header size).
const (
	ERATELIMITED = "rate_limited"      // 429: too many requests for this key
	ETIMEOUT     = "timeout"           // 408: the request did not arrive in time
	EHEADERS     = "headers_too_large" // 431
)

// Error is an application error whose Code and Message are safe to show a
// client. Anything else (wrapped driver errors) is internal and shown as such.
type Error struct {
	Code    string
	Message string
	// Field points at what was wrong ("body.items[0].sku", "status"); optional.
	Field string
	// Detail carries structured extras (line, column) for the problem document.
	Detail map[string]any
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Field)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf builds an *Error.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError builds an EINVALID *Error about one field.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for other errors and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
