package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	oi "orderintake"
)

// AlertSettings say who is told about failing triggers and printers, and
// after how many failures in a row (migration 010, one row).
type AlertSettings struct {
	Enabled          bool      `json:"enabled"`
	Emails           []string  `json:"emails"`
	WebhookURL       string    `json:"webhookUrl"`
	HasWebhookSecret bool      `json:"hasWebhookSecret"`
	TriggerFailures  int       `json:"triggerFailures"`
	PrinterFailures  int       `json:"printerFailures"`
	UpdatedAt        time.Time `json:"updatedAt"`
}

// DefaultAlertFailures is the failures-in-a-row threshold of a fresh install.
const DefaultAlertFailures = 5

// GetAlertSettings returns the settings and the sealed webhook secret (nil:
// none yet); a database that never saved any answers the defaults, off.
func (s *Store) GetAlertSettings(ctx context.Context) (*AlertSettings, []byte, error) {
	a := &AlertSettings{Emails: []string{}, TriggerFailures: DefaultAlertFailures, PrinterFailures: DefaultAlertFailures}
	var sealed []byte
	err := s.pool.QueryRow(ctx, `select enabled, emails, webhook_url, webhook_secret_sealed, trigger_failures, printer_failures, updated_at
		from alert_settings where id`).Scan(&a.Enabled, &a.Emails, &a.WebhookURL, &sealed, &a.TriggerFailures, &a.PrinterFailures, &a.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, nil, nil
	}
	if err != nil {
		return nil, nil, mapErr(err, "alert settings")
	}
	a.HasWebhookSecret = len(sealed) > 0
	return a, sealed, nil
}

// PutAlertSettings saves the settings; sealedSecret nil keeps the stored one.
func (s *Store) PutAlertSettings(ctx context.Context, a *AlertSettings, sealedSecret []byte) error {
	emails := a.Emails
	if emails == nil {
		emails = []string{}
	}
	_, err := s.pool.Exec(ctx, `insert into alert_settings (id, enabled, emails, webhook_url, webhook_secret_sealed, trigger_failures, printer_failures, updated_at)
		values (true, $1, $2, $3, $4, $5, $6, now())
		on conflict (id) do update set enabled = $1, emails = $2, webhook_url = $3,
			webhook_secret_sealed = coalesce($4, alert_settings.webhook_secret_sealed),
			trigger_failures = $5, printer_failures = $6, updated_at = now()`,
		a.Enabled, emails, a.WebhookURL, sealedSecret, a.TriggerFailures, a.PrinterFailures)
	return mapErr(err, "alert settings")
}

// Alert subjects and the causes of their incidents.
const (
	AlertTrigger = "trigger"
	AlertPrinter = "printer"

	CauseDisabled    = "disabled"    // the receiver answered 410: the trigger was disabled
	CauseExhausted   = "exhausted"   // a postback ran out of retries
	CauseConsecutive = "consecutive" // N failures in a row
)

// Incident is one stretch of failure of a trigger or a printer.
type Incident struct {
	ID                 string     `json:"id"`
	SubjectKind        string     `json:"subjectKind"`
	SubjectID          string     `json:"subjectId"`
	CustomerID         string     `json:"customerId,omitempty"`
	Cause              string     `json:"cause"`
	Reason             string     `json:"reason"`
	Link               string     `json:"link"`
	OpenedAt           time.Time  `json:"openedAt"`
	RecoveredAt        *time.Time `json:"recoveredAt,omitempty"`
	NotifiedAt         *time.Time `json:"notifiedAt,omitempty"`
	RecoveryNotifiedAt *time.Time `json:"recoveryNotifiedAt,omitempty"`
	NotifyError        string     `json:"notifyError,omitempty"`
}

const incidentCols = `id, subject_kind, subject_id, customer_id, cause, reason, link, opened_at, recovered_at, notified_at,
	recovery_notified_at, notify_error`

func scanIncident(r pgx.Row) (*Incident, error) {
	var i Incident
	err := r.Scan(&i.ID, &i.SubjectKind, &i.SubjectID, &i.CustomerID, &i.Cause, &i.Reason, &i.Link, &i.OpenedAt, &i.RecoveredAt,
		&i.NotifiedAt, &i.RecoveryNotifiedAt, &i.NotifyError)
	return &i, err
}

// AddAlertFailure counts one more failure of a subject in a row and returns
// the count (one statement: concurrent failures on replicas all count).
func (s *Store) AddAlertFailure(ctx context.Context, kind, id, reason string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `insert into alert_streaks (subject_kind, subject_id, failures, last_reason) values ($1, $2, 1, $3)
		on conflict (subject_kind, subject_id) do update set failures = alert_streaks.failures + 1, last_reason = $3, updated_at = now()
		returning failures`, kind, id, reason).Scan(&n)
	return n, mapErr(err, "alert streak")
}

// OpenIncident opens inc unless its subject has an open incident already.
// It returns the incident whose opening notice this call is to send (send
// true): a new one, or an open one whose last notice failed; nil and false
// when another call opened it and sends (or sent) its notice.
func (s *Store) OpenIncident(ctx context.Context, inc *Incident) (*Incident, bool, error) {
	if inc.ID == "" {
		inc.ID = oi.NewID("inc")
	}
	row := s.pool.QueryRow(ctx, `insert into alert_incidents (id, subject_kind, subject_id, customer_id, cause, reason, link)
		values ($1, $2, $3, $4, $5, $6, $7)
		on conflict (subject_kind, subject_id) where recovered_at is null do nothing
		returning `+incidentCols, inc.ID, inc.SubjectKind, inc.SubjectID, inc.CustomerID, inc.Cause, inc.Reason, inc.Link)
	got, err := scanIncident(row)
	if err == nil {
		return got, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, false, mapErr(err, "incident")
	}
	// Open already: this call sends the notice only if the last try failed,
	// and claims that retry (clearing the error) so concurrent calls do not
	// all send it.
	got, err = scanIncident(s.pool.QueryRow(ctx, `update alert_incidents set notify_error = ''
		where subject_kind = $1 and subject_id = $2 and recovered_at is null and notified_at is null and notify_error <> ''
		returning `+incidentCols, inc.SubjectKind, inc.SubjectID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, mapErr(err, "incident")
	}
	return got, true, nil
}

// RecordAlertSuccess is a success of a subject: its streak ends and its
// open incident, if any, closes, in one statement (every delivery and
// printer answer that succeeds comes here, and nearly always finds
// neither). Only the call that
// closes the incident gets it back (found true): a recovery is announced once.
func (s *Store) RecordAlertSuccess(ctx context.Context, kind, id string) (*Incident, bool, error) {
	// A data-modifying WITH runs to completion whether or not it is read.
	got, err := scanIncident(s.pool.QueryRow(ctx, `with reset as (delete from alert_streaks where subject_kind = $1 and subject_id = $2)
		update alert_incidents set recovered_at = now()
		where subject_kind = $1 and subject_id = $2 and recovered_at is null returning `+incidentCols, kind, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, mapErr(err, "incident")
	}
	return got, true, nil
}

// MarkIncidentNotified records that a notice went out (recovery: the
// recovery notice), or why it did not (notifyErr non-empty).
func (s *Store) MarkIncidentNotified(ctx context.Context, id string, recovery bool, notifyErr string) error {
	col := "notified_at"
	if recovery {
		col = "recovery_notified_at"
	}
	q := `update alert_incidents set ` + col + ` = now(), notify_error = '' where id = $1`
	args := []any{id}
	if notifyErr != "" {
		q, args = `update alert_incidents set notify_error = $2 where id = $1`, []any{id, notifyErr}
	}
	_, err := s.pool.Exec(ctx, q, args...)
	return mapErr(err, "incident")
}

// ListIncidents lists incidents, open ones first, then the newest.
func (s *Store) ListIncidents(ctx context.Context, openOnly bool, limit int) ([]*Incident, error) {
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	rows, err := s.pool.Query(ctx, `select `+incidentCols+` from alert_incidents
		where not $1 or recovered_at is null
		order by (recovered_at is null) desc, opened_at desc limit $2`, openOnly, limit)
	if err != nil {
		return nil, mapErr(err, "incidents")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Incident, error) { return scanIncident(r) })
	return out, mapErr(err, "incidents")
}
