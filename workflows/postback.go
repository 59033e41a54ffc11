package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"
)

// PostbackDeliveryInput starts one manual attempt series of a postback: a
// resend, or the delivery of a test postback. The payload stays in Postgres.
type PostbackDeliveryInput struct {
	PostbackID string
	Series     int
}

// PostbackDeliveryWorkflowID names the workflow of one series, so each resend
// is its own execution in the Web UI and a repeated start of one series is
// refused rather than sent twice.
func PostbackDeliveryWorkflowID(postbackID string, series int) string {
	return fmt.Sprintf("postback/%s/%d", postbackID, series)
}

// PostbackDeliveryWorkflow runs one attempt series with the same activity and
// schedule as an order's postbacks, so a resend survives restarts and its
// retries show as activity attempts in the Web UI. The store claimed the
// postback (pending, new series) before the workflow started.
func PostbackDeliveryWorkflow(ctx workflow.Context, in PostbackDeliveryInput) (DeliverResult, error) {
	actx := workflow.WithActivityOptions(ctx, deliverOpts)
	var res DeliverResult
	err := workflow.ExecuteActivity(actx, ActDeliverPostback, DeliverInput{PostbackID: in.PostbackID, Manual: true}).Get(ctx, &res)
	if err != nil {
		return res, fmt.Errorf("deliver postback %s (series %d): %w", in.PostbackID, in.Series, err)
	}
	return res, nil
}
