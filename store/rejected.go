package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"

	oi "orderintake"
)

// StatusRejected: refused requests are kept in order_requests so the
// Requests view shows what came in and why it was refused. Such rows never
// have a workflow.
const StatusRejected = oi.StatusRejected

// errDBUnavailable marks errors of a database that cannot be reached: the
// API answers 503 (with Retry-After) and activities retry.
var errDBUnavailable = &oi.Error{Code: oi.EUNAVAILABLE, Message: "the database is unavailable right now; try again"}

// unavailable reports whether err means the database could not be reached
// or went away, rather than that the query was wrong.
func unavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08: connection exceptions; 57P01-03: shutting down or starting.
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connErr) || errors.As(err, &netErr) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, context.DeadlineExceeded)
}

// RejectedRequest is a refused request as the API records it.
type RejectedRequest struct {
	ID, CustomerID, PrinterID, IdempotencyKey string
	ReceivedAt                                time.Time
	ContentType                               string
	Headers                                   map[string][]string
	Body                                      []byte // what was read of it, capped by the caller
	Reason                                    string // the problem's detail
	// Problem is the problem document the client got, plus where it came
	// (method, path) and how much of the body was kept.
	Problem map[string]any
}

// InsertRejectedRequest records a refused request with status "rejected".
func (s *Store) InsertRejectedRequest(ctx context.Context, r RejectedRequest) error {
	if r.Headers == nil {
		r.Headers = map[string][]string{}
	}
	if r.Body == nil {
		r.Body = []byte{}
	}
	problem, err := json.Marshal(r.Problem)
	if err != nil {
		return fmt.Errorf("encode rejection: %w", err)
	}
	// jsonb cannot hold \u0000; the client's input can.
	problem = bytes.ReplaceAll(problem, []byte(`\u0000`), []byte(`\ufffd`))
	_, err = s.pool.Exec(ctx, `insert into order_requests (id, customer_id, printer_id, workflow_id, idempotency_key,
		status, status_reason, received_at, request_content_type, request_headers, request_body, rejection)
		values ($1, $2, nullif($3, ''), '', $4, $5, $6, $7, $8, $9, $10, $11)`,
		r.ID, r.CustomerID, r.PrinterID, storable(r.IdempotencyKey, 255), StatusRejected, storable(r.Reason, 2000),
		r.ReceivedAt, storable(r.ContentType, 255), r.Headers, r.Body, problem)
	return mapErr(err, "rejected request")
}

// GetRejection returns the problem recorded with a rejected request, nil
// for other requests.
func (s *Store) GetRejection(ctx context.Context, id string) (json.RawMessage, error) {
	var out []byte
	err := s.pool.QueryRow(ctx, `select rejection from order_requests where id = $1`, id).Scan(&out)
	return out, mapErr(err, "order")
}

// storable makes client text fit a text column: valid UTF-8, no NUL, at
// most max bytes (cut on a rune boundary).
func storable(s string, max int) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
	if len(s) <= max {
		return s
	}
	s = s[:max]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
