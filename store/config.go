package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"time"

	"github.com/jackc/pgx/v5"

	oi "orderintake"
)

// ---- printers

const printerCols = `id, name, url, format, headers, timeout_ms, created_at, updated_at, headers_sealed, cancel_url, order_id_expression`

func scanPrinter(row pgx.Row) (*oi.Printer, error) {
	var p oi.Printer
	err := row.Scan(&p.ID, &p.Name, &p.URL, &p.Format, &p.Headers, &p.TimeoutMs, &p.CreatedAt, &p.UpdatedAt, &p.HeadersSealed,
		&p.CancelURL, &p.OrderIDExpression)
	return &p, err
}

// CreatePrinter inserts p (ID set by the caller).
func (s *Store) CreatePrinter(ctx context.Context, p *oi.Printer) (*oi.Printer, error) {
	if p.Headers == nil {
		p.Headers = map[string]string{}
	}
	out, err := scanPrinter(s.pool.QueryRow(ctx, `insert into printers (id, name, url, format, headers, timeout_ms, headers_sealed,
		cancel_url, order_id_expression) values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning `+printerCols,
		p.ID, p.Name, p.URL, p.Format, p.Headers, p.TimeoutMs, p.HeadersSealed, p.CancelURL, p.OrderIDExpression))
	return out, mapErr(err, "printer")
}

// UpdatePrinter replaces the editable fields of a printer.
func (s *Store) UpdatePrinter(ctx context.Context, p *oi.Printer) (*oi.Printer, error) {
	if p.Headers == nil {
		p.Headers = map[string]string{}
	}
	out, err := scanPrinter(s.pool.QueryRow(ctx, `update printers set name = $2, url = $3, format = $4, headers = $5,
		timeout_ms = $6, headers_sealed = $7, cancel_url = $8, order_id_expression = $9, updated_at = now() where id = $1
		returning `+printerCols,
		p.ID, p.Name, p.URL, p.Format, p.Headers, p.TimeoutMs, p.HeadersSealed, p.CancelURL, p.OrderIDExpression))
	return out, mapErr(err, "printer")
}

// GetPrinter reads one printer.
func (s *Store) GetPrinter(ctx context.Context, id string) (*oi.Printer, error) {
	p, err := scanPrinter(s.pool.QueryRow(ctx, `select `+printerCols+` from printers where id = $1`, id))
	return p, mapErr(err, "printer")
}

// ListPrinters lists all printers by name.
func (s *Store) ListPrinters(ctx context.Context) ([]*oi.Printer, error) {
	rows, _ := s.pool.Query(ctx, `select `+printerCols+` from printers order by name, id`)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*oi.Printer, error) { return scanPrinter(r) })
	return out, mapErr(err, "printers")
}

// ---- templates

const templateCols = `t.id, t.name, t.kind, t.format, t.current_version, v.body, v.subject, t.created_at, t.updated_at, v.strict`

func scanTemplate(row pgx.Row) (*oi.Template, error) {
	var t oi.Template
	err := row.Scan(&t.ID, &t.Name, &t.Kind, &t.Format, &t.Version, &t.Body, &t.Subject, &t.CreatedAt, &t.UpdatedAt, &t.Strict)
	return &t, err
}

// CreateTemplate inserts a template and its version 1.
func (s *Store) CreateTemplate(ctx context.Context, t *oi.Template) (*oi.Template, error) {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `insert into templates (id, name, kind, format, current_version) values ($1, $2, $3, $4, 1)`,
			t.ID, t.Name, t.Kind, t.Format); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `insert into template_versions (template_id, version, format, body, subject, strict) values ($1, 1, $2, $3, $4, $5)`,
			t.ID, t.Format, t.Body, t.Subject, t.Strict)
		return err
	})
	if err != nil {
		return nil, mapErr(err, "template")
	}
	return s.GetTemplate(ctx, t.ID)
}

// UpdateTemplate saves a new version of a template (name, format, body,
// subject) and makes it current.
func (s *Store) UpdateTemplate(ctx context.Context, t *oi.Template) (*oi.Template, error) {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var v int
		if err := tx.QueryRow(ctx, `update templates set name = $2, format = $3, current_version = current_version + 1,
			updated_at = now() where id = $1 returning current_version`, t.ID, t.Name, t.Format).Scan(&v); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `insert into template_versions (template_id, version, format, body, subject, strict) values ($1, $2, $3, $4, $5, $6)`,
			t.ID, v, t.Format, t.Body, t.Subject, t.Strict)
		return err
	})
	if err != nil {
		return nil, mapErr(err, "template")
	}
	return s.GetTemplate(ctx, t.ID)
}

// GetTemplate reads a template at its current version.
func (s *Store) GetTemplate(ctx context.Context, id string) (*oi.Template, error) {
	t, err := scanTemplate(s.pool.QueryRow(ctx, `select `+templateCols+` from templates t
		join template_versions v on v.template_id = t.id and v.version = t.current_version where t.id = $1`, id))
	return t, mapErr(err, "template")
}

// ListTemplates lists templates at their current versions.
func (s *Store) ListTemplates(ctx context.Context) ([]*oi.Template, error) {
	rows, _ := s.pool.Query(ctx, `select `+templateCols+` from templates t
		join template_versions v on v.template_id = t.id and v.version = t.current_version order by t.name, t.id`)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*oi.Template, error) { return scanTemplate(r) })
	return out, mapErr(err, "templates")
}

// ListTemplateVersions lists every version of a template, newest first.
func (s *Store) ListTemplateVersions(ctx context.Context, id string) ([]*oi.TemplateVersion, error) {
	rows, _ := s.pool.Query(ctx, `select template_id, version, format, body, subject, created_at, strict from template_versions
		where template_id = $1 order by version desc`, id)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*oi.TemplateVersion, error) {
		var v oi.TemplateVersion
		err := r.Scan(&v.TemplateID, &v.Version, &v.Format, &v.Body, &v.Subject, &v.CreatedAt, &v.Strict)
		return &v, err
	})
	if err == nil && len(out) == 0 {
		return nil, oi.Errorf(oi.ENOTFOUND, "template not found")
	}
	return out, mapErr(err, "template versions")
}

// ---- customers

const customerCols = `id, name, reference_id, coalesce(printer_id, ''), coalesce(intake_template_id, ''),
	coalesce(cancel_template_id, ''), reference_expression, created_at, updated_at,
	coalesce(submit_response_template_id, ''), coalesce(cancel_response_template_id, ''), delayed_after_seconds`

func scanCustomer(row pgx.Row) (*oi.Customer, error) {
	var c oi.Customer
	var delayed int64
	err := row.Scan(&c.ID, &c.Name, &c.ReferenceID, &c.PrinterID, &c.IntakeTemplateID, &c.CancelTemplateID,
		&c.ReferenceExpression, &c.CreatedAt, &c.UpdatedAt, &c.SubmitResponseTemplateID, &c.CancelResponseTemplateID, &delayed)
	c.DelayedAfter = oi.Duration(time.Duration(delayed) * time.Second)
	return &c, err
}

func seconds(d oi.Duration) int64 { return int64(time.Duration(d) / time.Second) }

// CreateCustomer inserts a customer.
func (s *Store) CreateCustomer(ctx context.Context, c *oi.Customer) (*oi.Customer, error) {
	out, err := scanCustomer(s.pool.QueryRow(ctx, `insert into customers (id, name, reference_id, printer_id,
		intake_template_id, cancel_template_id, reference_expression, submit_response_template_id,
		cancel_response_template_id, delayed_after_seconds)
		values ($1, $2, $3, nullif($4, ''), nullif($5, ''), nullif($6, ''), $7, nullif($8, ''), nullif($9, ''), $10)
		returning `+customerCols,
		c.ID, c.Name, c.ReferenceID, c.PrinterID, c.IntakeTemplateID, c.CancelTemplateID, c.ReferenceExpression,
		c.SubmitResponseTemplateID, c.CancelResponseTemplateID, seconds(c.DelayedAfter)))
	return out, mapErr(err, "customer")
}

// UpdateCustomer replaces the editable fields of a customer.
func (s *Store) UpdateCustomer(ctx context.Context, c *oi.Customer) (*oi.Customer, error) {
	out, err := scanCustomer(s.pool.QueryRow(ctx, `update customers set name = $2, reference_id = $3,
		printer_id = nullif($4, ''), intake_template_id = nullif($5, ''), cancel_template_id = nullif($6, ''),
		reference_expression = $7, submit_response_template_id = nullif($8, ''),
		cancel_response_template_id = nullif($9, ''), delayed_after_seconds = $10, updated_at = now()
		where id = $1 returning `+customerCols,
		c.ID, c.Name, c.ReferenceID, c.PrinterID, c.IntakeTemplateID, c.CancelTemplateID, c.ReferenceExpression,
		c.SubmitResponseTemplateID, c.CancelResponseTemplateID, seconds(c.DelayedAfter)))
	return out, mapErr(err, "customer")
}

// GetCustomer reads one customer.
func (s *Store) GetCustomer(ctx context.Context, id string) (*oi.Customer, error) {
	c, err := scanCustomer(s.pool.QueryRow(ctx, `select `+customerCols+` from customers where id = $1`, id))
	return c, mapErr(err, "customer")
}

// ListCustomers lists customers by name.
func (s *Store) ListCustomers(ctx context.Context) ([]*oi.Customer, error) {
	rows, _ := s.pool.Query(ctx, `select `+customerCols+` from customers order by name, id`)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*oi.Customer, error) { return scanCustomer(r) })
	return out, mapErr(err, "customers")
}

// ---- API keys

// HashKey is how keys are stored: SHA-256 (keys are 32 random bytes, so a
// slow hash adds nothing), compared by the database's unique index lookup.
func HashKey(key string) []byte {
	sum := sha256.Sum256([]byte(key))
	return sum[:]
}

// CreateKey makes a key for a customer or printer and returns it with the
// plain key set (the only time it exists).
func (s *Store) CreateKey(ctx context.Context, ownerKind, ownerID string) (*oi.APIKey, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	prefix := "ck"
	if ownerKind == oi.OwnerPrinter {
		prefix = "pk"
	}
	plain := prefix + "_" + base64.RawURLEncoding.EncodeToString(raw)
	k := oi.APIKey{ID: oi.NewID("key"), OwnerKind: ownerKind, OwnerID: ownerID, Prefix: plain[:10], Key: plain}
	err := s.pool.QueryRow(ctx, `insert into api_keys (id, owner_kind, owner_id, prefix, hash) values ($1, $2, $3, $4, $5)
		returning created_at`, k.ID, k.OwnerKind, k.OwnerID, k.Prefix, HashKey(plain)).Scan(&k.CreatedAt)
	return &k, mapErr(err, "key")
}

// InsertKey stores a key whose plain text the caller chose (demo data).
func (s *Store) InsertKey(ctx context.Context, ownerKind, ownerID, plain string) error {
	_, err := s.pool.Exec(ctx, `insert into api_keys (id, owner_kind, owner_id, prefix, hash) values ($1, $2, $3, $4, $5)
		on conflict (hash) do nothing`, oi.NewID("key"), ownerKind, ownerID, plain[:min(10, len(plain))], HashKey(plain))
	return mapErr(err, "key")
}

// RevokeKey revokes one key of an owner.
func (s *Store) RevokeKey(ctx context.Context, ownerKind, ownerID, keyID string) error {
	tag, err := s.pool.Exec(ctx, `update api_keys set revoked_at = coalesce(revoked_at, now())
		where id = $1 and owner_kind = $2 and owner_id = $3`, keyID, ownerKind, ownerID)
	if err != nil {
		return mapErr(err, "key")
	}
	if tag.RowsAffected() == 0 {
		return oi.Errorf(oi.ENOTFOUND, "key not found")
	}
	return nil
}

// Authenticate finds the live key whose hash matches; ENOTFOUND otherwise.
func (s *Store) Authenticate(ctx context.Context, plain string) (*oi.APIKey, error) {
	var k oi.APIKey
	err := s.pool.QueryRow(ctx, `select id, owner_kind, owner_id, prefix, created_at from api_keys
		where hash = $1 and revoked_at is null`, HashKey(plain)).Scan(&k.ID, &k.OwnerKind, &k.OwnerID, &k.Prefix, &k.CreatedAt)
	return &k, mapErr(err, "key")
}

// ---- lookups

// PutLookup creates or replaces a lookup table (name unique per customer).
func (s *Store) PutLookup(ctx context.Context, l *oi.LookupTable) (*oi.LookupTable, error) {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `insert into lookups (id, customer_id, name, default_value) values ($1, $2, $3, $4)
			on conflict (customer_id, name) do update set default_value = excluded.default_value, updated_at = now()
			returning id`, l.ID, l.CustomerID, l.Name, l.Default).Scan(&l.ID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `delete from lookup_rows where lookup_id = $1`, l.ID); err != nil {
			return err
		}
		return insertLookupRows(ctx, tx, l.ID, l.Rows)
	})
	if err != nil {
		return nil, mapErr(err, "lookup")
	}
	return s.GetLookup(ctx, l.ID)
}

// AddLookupRows upserts rows into a lookup table.
func (s *Store) AddLookupRows(ctx context.Context, id string, rows map[string]string) (*oi.LookupTable, error) {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `update lookups set updated_at = now() where id = $1`, id); err != nil {
			return err
		}
		return insertLookupRows(ctx, tx, id, rows)
	})
	if err != nil {
		return nil, mapErr(err, "lookup")
	}
	return s.GetLookup(ctx, id)
}

func insertLookupRows(ctx context.Context, tx pgx.Tx, id string, rows map[string]string) error {
	keys := make([]string, 0, len(rows))
	vals := make([]string, 0, len(rows))
	for k, v := range rows {
		keys = append(keys, k)
		vals = append(vals, v)
	}
	_, err := tx.Exec(ctx, `insert into lookup_rows (lookup_id, key, value) select $1, k, v from unnest($2::text[], $3::text[]) as u(k, v)
		on conflict (lookup_id, key) do update set value = excluded.value`, id, keys, vals)
	return err
}

// GetLookup reads a lookup table with its rows.
func (s *Store) GetLookup(ctx context.Context, id string) (*oi.LookupTable, error) {
	var l oi.LookupTable
	err := s.pool.QueryRow(ctx, `select id, customer_id, name, default_value, created_at, updated_at from lookups where id = $1`, id).
		Scan(&l.ID, &l.CustomerID, &l.Name, &l.Default, &l.CreatedAt, &l.UpdatedAt)
	if err != nil {
		return nil, mapErr(err, "lookup")
	}
	l.Rows, err = s.lookupRows(ctx, id)
	return &l, err
}

func (s *Store) lookupRows(ctx context.Context, id string) (map[string]string, error) {
	rows, _ := s.pool.Query(ctx, `select key, value from lookup_rows where lookup_id = $1`, id)
	out := map[string]string{}
	var k, v string
	_, err := pgx.ForEachRow(rows, []any{&k, &v}, func() error { out[k] = v; return nil })
	return out, mapErr(err, "lookup rows")
}

// ListLookups lists a customer's lookup tables (all customers when customerID
// is empty), with rows.
func (s *Store) ListLookups(ctx context.Context, customerID string) ([]*oi.LookupTable, error) {
	rows, _ := s.pool.Query(ctx, `select id, customer_id, name, default_value, created_at, updated_at from lookups
		where $1 = '' or customer_id = $1 order by customer_id, name`, customerID)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*oi.LookupTable, error) {
		var l oi.LookupTable
		err := r.Scan(&l.ID, &l.CustomerID, &l.Name, &l.Default, &l.CreatedAt, &l.UpdatedAt)
		return &l, err
	})
	if err != nil {
		return nil, mapErr(err, "lookups")
	}
	for _, l := range out {
		if l.Rows, err = s.lookupRows(ctx, l.ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ---- triggers

const triggerCols = `id, customer_id, name, event, method, template_id, format, url, emails, retry_on_failure, status,
	disabled_reason, created_at, updated_at`

func scanTrigger(row pgx.Row) (*oi.Trigger, error) {
	var t oi.Trigger
	err := row.Scan(&t.ID, &t.CustomerID, &t.Name, &t.Event, &t.Method, &t.TemplateID, &t.Format, &t.URL, &t.Emails,
		&t.RetryOnFailure, &t.Status, &t.DisabledReason, &t.CreatedAt, &t.UpdatedAt)
	return &t, err
}

// CreateTrigger inserts a trigger with its sealed signing secret.
func (s *Store) CreateTrigger(ctx context.Context, t *oi.Trigger, sealedSecret []byte) (*oi.Trigger, error) {
	if t.Emails == nil {
		t.Emails = []string{}
	}
	out, err := scanTrigger(s.pool.QueryRow(ctx, `insert into triggers (id, customer_id, name, event, method, template_id,
		format, url, emails, retry_on_failure, status, secret_sealed) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		returning `+triggerCols, t.ID, t.CustomerID, t.Name, t.Event, t.Method, t.TemplateID, t.Format, t.URL, t.Emails,
		t.RetryOnFailure, t.Status, sealedSecret))
	return out, mapErr(err, "trigger")
}

// UpdateTrigger replaces the editable fields of a trigger.
func (s *Store) UpdateTrigger(ctx context.Context, t *oi.Trigger) (*oi.Trigger, error) {
	if t.Emails == nil {
		t.Emails = []string{}
	}
	out, err := scanTrigger(s.pool.QueryRow(ctx, `update triggers set name = $2, event = $3, method = $4, template_id = $5,
		format = $6, url = $7, emails = $8, retry_on_failure = $9, status = $10,
		disabled_reason = case when $10 = 'disabled' then disabled_reason else '' end, updated_at = now()
		where id = $1 returning `+triggerCols, t.ID, t.Name, t.Event, t.Method, t.TemplateID, t.Format, t.URL, t.Emails,
		t.RetryOnFailure, t.Status))
	return out, mapErr(err, "trigger")
}

// GetTrigger reads one trigger.
func (s *Store) GetTrigger(ctx context.Context, id string) (*oi.Trigger, error) {
	t, err := scanTrigger(s.pool.QueryRow(ctx, `select `+triggerCols+` from triggers where id = $1`, id))
	return t, mapErr(err, "trigger")
}

// ListTriggers lists triggers, of one customer when customerID is set.
func (s *Store) ListTriggers(ctx context.Context, customerID string) ([]*oi.Trigger, error) {
	rows, _ := s.pool.Query(ctx, `select `+triggerCols+` from triggers where $1 = '' or customer_id = $1
		order by customer_id, event, name`, customerID)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*oi.Trigger, error) { return scanTrigger(r) })
	return out, mapErr(err, "triggers")
}

// TriggerSecrets returns the sealed secrets that sign now: the current one
// and, within its grace period, the previous one.
func (s *Store) TriggerSecrets(ctx context.Context, id string) ([][]byte, error) {
	var cur, prev []byte
	var until *time.Time
	err := s.pool.QueryRow(ctx, `select secret_sealed, prev_secret_sealed, prev_secret_until from triggers where id = $1`, id).
		Scan(&cur, &prev, &until)
	if err != nil {
		return nil, mapErr(err, "trigger")
	}
	return signingSecrets(cur, prev, until), nil
}

// RotateTriggerSecret makes sealed the current secret; the old one keeps
// signing until grace has passed.
func (s *Store) RotateTriggerSecret(ctx context.Context, id string, sealed []byte, grace time.Duration) error {
	tag, err := s.pool.Exec(ctx, `update triggers set prev_secret_sealed = secret_sealed,
		prev_secret_until = now() + make_interval(secs => $3), secret_sealed = $2, updated_at = now() where id = $1`,
		id, sealed, grace.Seconds())
	if err != nil {
		return mapErr(err, "trigger")
	}
	if tag.RowsAffected() == 0 {
		return oi.Errorf(oi.ENOTFOUND, "trigger not found")
	}
	return nil
}

// DisableTrigger disables a trigger and records why (e.g. the receiver answered 410).
func (s *Store) DisableTrigger(ctx context.Context, id, reason string) error {
	_, err := s.pool.Exec(ctx, `update triggers set status = 'disabled', disabled_reason = $2, updated_at = now() where id = $1`, id, reason)
	return mapErr(err, "trigger")
}

// ---- SMTP settings

// GetSMTPSettings reads the work settings' mail server with the sealed password.
func (s *Store) GetSMTPSettings(ctx context.Context) (*oi.SMTPSettings, []byte, error) {
	var st oi.SMTPSettings
	var sealed []byte
	err := s.pool.QueryRow(ctx, `select from_address, from_name, host, port, username, password_sealed, tls, allow_plain_auth,
		updated_at from smtp_settings where id`).Scan(&st.FromAddress, &st.FromName, &st.Host, &st.Port, &st.Username, &sealed,
		&st.TLS, &st.AllowPlainAuth, &st.UpdatedAt)
	if err == pgx.ErrNoRows {
		return &oi.SMTPSettings{Port: 587, TLS: true}, nil, nil
	}
	st.HasPassword = sealed != nil
	return &st, sealed, mapErr(err, "smtp settings")
}

// PutSMTPSettings saves the settings. A nil sealed password keeps the old one
// only while host, port and username stay the same: otherwise it is dropped,
// so nobody can point the settings at their own server and have the stored
// password offered to it.
func (s *Store) PutSMTPSettings(ctx context.Context, st *oi.SMTPSettings, sealedPassword []byte) error {
	_, err := s.pool.Exec(ctx, `insert into smtp_settings (id, from_address, from_name, host, port, username, password_sealed, tls,
		allow_plain_auth) values (true, $1, $2, $3, $4, $5, $6, $7, $8) on conflict (id) do update set from_address = excluded.from_address,
		from_name = excluded.from_name, host = excluded.host, port = excluded.port, username = excluded.username,
		password_sealed = case
			when excluded.password_sealed is not null then excluded.password_sealed
			when (lower(smtp_settings.host), smtp_settings.port, smtp_settings.username)
				is distinct from (lower(excluded.host), excluded.port, excluded.username) then null
			else smtp_settings.password_sealed end,
		tls = excluded.tls, allow_plain_auth = excluded.allow_plain_auth, updated_at = now()`,
		st.FromAddress, st.FromName, st.Host, st.Port, st.Username, sealedPassword, st.TLS, st.AllowPlainAuth)
	return mapErr(err, "smtp settings")
}
