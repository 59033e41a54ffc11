// Package activities are the Temporal activities of the order workflow: thin
// adapters that load what a step needs from the store, call mapper or
// delivery, and record the outcome. Decisions about retries are expressed as
// Temporal errors here and nowhere else.
package activities

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	oi "orderintake"
	"orderintake/alerts"
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
	// FailedOrderHold is how long a failed order waits for a resubmit
	// (ORDERINTAKE_FAILED_ORDER_HOLD; 0: workflows.DefaultFailedOrderHold).
	FailedOrderHold time.Duration
	// Alerts is told each postback attempt's and printer answer's outcome
	// (nil: no alerting).
	Alerts *alerts.Alerter
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
