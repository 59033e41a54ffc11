package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	oi "orderintake"
	"orderintake/internal/seal"
)

// ResealSecrets brings every secret at rest to the current form, once: values
// sealed before rows were bound (or under a passphrase's old SHA-256 key) are
// resealed bound to their row, and printer headers still in clear are sealed
// and masked. The api and worker run it at start; it is idempotent, and a
// row changed meanwhile by someone else is left for the next start (each
// update matches the value it read). It answers how many values it resealed;
// values that do not open are named in the error, the others still resealed.
func (s *Store) ResealSecrets(ctx context.Context, se *seal.Sealer) (int, error) {
	n := 0
	var errs []error
	upgrade := func(sealed []byte, where, update string, args ...any) {
		out, changed, err := se.Upgrade(sealed, where)
		if err != nil {
			errs = append(errs, err)
			return
		}
		if !changed {
			return
		}
		tag, err := s.pool.Exec(ctx, update, append([]any{out, sealed}, args...)...)
		if err != nil {
			errs = append(errs, fmt.Errorf("reseal %s: %w", where, err))
			return
		}
		n += int(tag.RowsAffected())
	}

	type trig struct {
		id        string
		cur, prev []byte
	}
	rows, _ := s.pool.Query(ctx, `select id, secret_sealed, prev_secret_sealed from triggers
		where secret_sealed is not null or prev_secret_sealed is not null`)
	trigs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (trig, error) {
		var t trig
		return t, r.Scan(&t.id, &t.cur, &t.prev)
	})
	if err != nil {
		return 0, mapErr(err, "triggers")
	}
	for _, t := range trigs {
		if t.cur != nil {
			upgrade(t.cur, seal.TriggerSecret(t.id), `update triggers set secret_sealed = $1 where secret_sealed = $2 and id = $3`, t.id)
		}
		if t.prev != nil {
			upgrade(t.prev, seal.TriggerSecret(t.id), `update triggers set prev_secret_sealed = $1 where prev_secret_sealed = $2 and id = $3`, t.id)
		}
	}

	var pw []byte
	err = s.pool.QueryRow(ctx, `select password_sealed from smtp_settings where id`).Scan(&pw)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return n, mapErr(err, "smtp settings")
	}
	if pw != nil {
		upgrade(pw, seal.SMTPPassword, `update smtp_settings set password_sealed = $1 where password_sealed = $2 and id`)
	}

	printers, err := s.ListPrinters(ctx)
	if err != nil {
		return n, err
	}
	for _, p := range printers {
		where := seal.PrinterHeaders(p.ID)
		if p.HeadersSealed != nil {
			upgrade(p.HeadersSealed, where, `update printers set headers_sealed = $1 where headers_sealed = $2 and id = $3`, p.ID)
			continue
		}
		if len(p.Headers) == 0 {
			continue
		}
		plain, _ := json.Marshal(p.Headers)
		tag, err := s.pool.Exec(ctx, `update printers set headers_sealed = $1, headers = $2 where id = $3 and headers_sealed is null
			and headers = $4`, se.SealFor(string(plain), where), oi.MaskHeaderMap(p.Headers), p.ID, p.Headers)
		if err != nil {
			errs = append(errs, fmt.Errorf("seal headers of printer %s: %w", p.ID, err))
			continue
		}
		n += int(tag.RowsAffected())
	}
	return n, errors.Join(errs...)
}

// OpenPrinterHeaders returns a printer's headers in clear: opened from
// HeadersSealed, or, for a printer not yet resealed, its clear Headers.
func OpenPrinterHeaders(se *seal.Sealer, p *oi.Printer) (map[string]string, error) {
	if p.HeadersSealed == nil {
		return p.Headers, nil
	}
	plain, _, err := se.OpenFor(p.HeadersSealed, seal.PrinterHeaders(p.ID))
	if err != nil {
		return nil, fmt.Errorf("headers of printer %s: %w", p.ID, err)
	}
	out := map[string]string{}
	if err := json.Unmarshal([]byte(plain), &out); err != nil {
		return nil, fmt.Errorf("headers of printer %s: %w", p.ID, err)
	}
	return out, nil
}

// SealPrinterHeaders sets p's headers to plain: sealed in HeadersSealed, the
// names with masked values in Headers.
func SealPrinterHeaders(se *seal.Sealer, p *oi.Printer, plain map[string]string) {
	p.Headers = oi.MaskHeaderMap(plain)
	p.HeadersSealed = nil
	if len(plain) > 0 {
		b, _ := json.Marshal(plain)
		p.HeadersSealed = se.SealFor(string(b), seal.PrinterHeaders(p.ID))
	}
}
