// Package activities are the Temporal activities of the order workflow: thin
// adapters that load what a step needs from the store, call mapper or
// delivery, and record the outcome. Decisions about retries are expressed as
// Temporal errors here and nowhere else.
package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/temporal"

	oi "orderintake"
	"orderintake/delivery"
	"orderintake/internal/seal"
	"orderintake/mapper"
	"orderintake/store"
	"orderintake/workflows"
)

// Activities holds the dependencies; the worker registers its methods.
type Activities struct {
	Store    *store.Store
	Mapper   *mapper.Engine
	Webhooks *delivery.WebhookSender
	Mailer   *delivery.Mailer
	Sealer   *seal.Sealer
	// Printers calls printers through the same Guard as webhooks: a printer
	// on a private network must be in the allow-list.
	Printers *delivery.PrinterClient
	Logger   *slog.Logger
	// FailedOrderHold is how long a failed order waits for a resubmit
	// (ORDERINTAKE_FAILED_ORDER_HOLD; 0: workflows.DefaultFailedOrderHold).
	FailedOrderHold time.Duration
	// Now is the clock of postback attempt records (nil: time.Now); tests of
	// the retry schedule pass the Temporal test environment's clock.
	Now func() time.Time
}

// nonRetryable wraps a cause in an error Temporal will not retry.
func nonRetryable(errType, msg string, cause error) error {
	return temporal.NewNonRetryableApplicationError(msg, errType, cause)
}

// configError is raised when an order cannot proceed because of settings
// (no printer, no template): retrying cannot help.
func configError(err error, what string) error {
	if oi.ErrorCode(err) == oi.ENOTFOUND {
		return nonRetryable(workflows.ErrOrderConfig, what+" not found", nil)
	}
	return fmt.Errorf("load %s: %w", what, err)
}

// templateErrorJSON is how a render error is stored and shown.
func templateErrorJSON(err error) json.RawMessage {
	var me *mapper.Error
	m := map[string]any{"kind": "runtime", "message": err.Error()}
	if errors.As(err, &me) {
		m = map[string]any{"kind": me.Kind, "message": me.Message, "where": me.Where, "line": me.Line, "column": me.Column, "excerpt": me.Excerpt}
	}
	b, _ := json.Marshal(m)
	return b
}

// lookupsFor loads a customer's lookup tables for the mapper.
func (a *Activities) lookupsFor(ctx context.Context, customerID string) (mapper.Lookups, error) {
	tables, err := a.Store.ListLookups(ctx, customerID)
	if err != nil {
		return nil, err
	}
	out := make(mapper.Lookups, len(tables))
	for _, t := range tables {
		out[t.Name] = mapper.LookupTable{Default: t.Default, Rows: t.Rows}
	}
	return out, nil
}

func mapperTemplate(t *oi.Template, format string) mapper.Template {
	if format == "" {
		format = t.Format
	}
	return mapper.Template{ID: t.ID, Version: t.Version, Format: mapper.Format(format), Body: t.Body, Strict: t.Strict}
}
