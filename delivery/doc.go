// Package delivery sends postbacks: Standard Webhooks–signed HTTP POSTs and e-mails
// through the operator's SMTP server. Every send returns a Result that carries the
// Attempt record (what HQ shows) and an Outcome that tells the caller whether to
// retry, give up, or disable the trigger.
//
// The package does no retrying itself: the schedule (Schedule, NextDelay) is applied
// by the caller's workflow, so one attempt here is exactly one network try.
// Destinations are checked by Guard at dial time, after DNS, so a name that resolves
// (or re-resolves) to a private address is refused.
package delivery
