package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	oi "orderintake"
)

// ListFilter selects rows of the Requests and Postbacks views, newest first,
// a page at a time. The cursor is opaque to clients: the (time, id) of the
// last row returned, so pages neither repeat nor skip rows while new ones arrive.
type ListFilter struct {
	From, To   time.Time // [From, To); zero = unbounded
	CustomerID string
	Status     string
	Event      string // postbacks only
	TriggerID  string // postbacks only
	OrderID    string // postbacks only
	PrinterID  string // requests only
	// Reference matches the order reference by prefix (postbacks: their order's).
	Reference string
	// Query is free text: part of the order reference (any case), or an exact
	// order id or idempotency key (postbacks: of their order, or their own id).
	Query  string
	Limit  int
	Cursor string
	// OrdersOnly leaves out requests refused at intake (requests only): a
	// customer's search lists its orders.
	OrdersOnly bool
}

type cursor struct {
	T  time.Time `json:"t"`
	ID string    `json:"i"`
}

func encodeCursor(t time.Time, id string) string {
	b, _ := json.Marshal(cursor{T: t, ID: id})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (*cursor, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	var c cursor
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.ID == "" {
		return nil, &oi.Error{Code: oi.EINVALID, Field: "cursor", Message: "cursor is not one this API returned"}
	}
	return &c, nil
}

// conds collects where-clauses; "$?" in a clause stands for the next
// argument, so clauses need not count placeholders.
type conds struct {
	args  []any
	parts []string
}

func (c *conds) add(clause string, vals ...any) {
	for _, v := range vals {
		c.args = append(c.args, v)
		clause = strings.Replace(clause, "$?", fmt.Sprintf("$%d", len(c.args)), 1)
	}
	c.parts = append(c.parts, clause)
}

func (c *conds) where() string {
	if len(c.parts) == 0 {
		return ""
	}
	return " where " + strings.Join(c.parts, " and ")
}

// common adds the filters both views share; timeCol is the sort time column.
func (f *ListFilter) common(timeCol string, c *conds) error {
	if !f.From.IsZero() {
		c.add(timeCol+" >= $?", f.From)
	}
	if !f.To.IsZero() {
		c.add(timeCol+" < $?", f.To)
	}
	if f.CustomerID != "" {
		c.add("customer_id = $?", f.CustomerID)
	}
	if f.Status != "" {
		c.add("status = $?", f.Status)
	}
	cur, err := decodeCursor(f.Cursor)
	if err != nil {
		return err
	}
	if cur != nil {
		c.add("("+timeCol+", id) < ($?, $?)", cur.T, cur.ID)
	}
	return nil
}

func (f *ListFilter) limit() int {
	if f.Limit <= 0 {
		return 50
	}
	return min(f.Limit, 500)
}

// ListOrderRequests lists orders for the Requests view.
func (s *Store) ListOrderRequests(ctx context.Context, f ListFilter) ([]*oi.OrderRequest, string, error) {
	var c conds
	if err := f.common("received_at", &c); err != nil {
		return nil, "", err
	}
	if f.OrdersOnly {
		c.add("status <> $?", oi.StatusRejected)
	}
	if f.Reference != "" {
		c.add("order_reference_id like $?", likePrefix(f.Reference))
	}
	if f.PrinterID != "" {
		c.add("printer_id = $?", f.PrinterID)
	}
	if f.Query != "" {
		c.add("(order_reference_id ilike $? or id = $? or idempotency_key = $?)", likeContains(f.Query), f.Query, f.Query)
	}
	return page(ctx, s, "orders", `select `+orderCols+` from order_requests`, "received_at", &c, f.limit(),
		func(r pgx.CollectableRow) (*oi.OrderRequest, error) { return scanOrder(r) },
		func(o *oi.OrderRequest) (time.Time, string) { return o.ReceivedAt, o.ID })
}

// page runs a list query newest first (timeCol, then id) for one page of n
// rows. It asks for one row more than it returns: that row's presence says
// a next page exists, whose cursor is the (time, id) of the last row here.
func page[T any](ctx context.Context, s *Store, what, selectFrom, timeCol string, c *conds, n int,
	scan func(pgx.CollectableRow) (T, error), key func(T) (time.Time, string)) ([]T, string, error) {
	rows, _ := s.pool.Query(ctx, selectFrom+c.where()+
		fmt.Sprintf(` order by %s desc, id desc limit %d`, timeCol, n+1), c.args...)
	out, err := pgx.CollectRows(rows, scan)
	if err != nil {
		return nil, "", mapErr(err, what)
	}
	if len(out) <= n {
		return out, "", nil
	}
	out = out[:n]
	return out, encodeCursor(key(out[n-1])), nil
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func likePrefix(s string) string { return likeEscape(s) + "%" }

func likeContains(s string) string { return "%" + likeEscape(s) + "%" }

// ListPostbacks lists postbacks for the Postbacks view.
func (s *Store) ListPostbacks(ctx context.Context, f ListFilter) ([]*oi.Postback, string, error) {
	var c conds
	if err := f.common("created_at", &c); err != nil {
		return nil, "", err
	}
	if f.Event != "" {
		c.add("event = $?", f.Event)
	}
	if f.TriggerID != "" {
		c.add("trigger_id = $?", f.TriggerID)
	}
	if f.OrderID != "" {
		c.add("order_id = $?", f.OrderID)
	}
	if f.Reference != "" {
		c.add("order_id in (select id from order_requests where order_reference_id like $?)", likePrefix(f.Reference))
	}
	if f.Query != "" {
		// = any(array(…)), not in (…): inside an OR, "in" becomes a filter
		// on a walk of the whole table; an array is one index lookup.
		c.add(`(id = $? or order_id = any(array(select id from order_requests
			where order_reference_id ilike $? or id = $? or idempotency_key = $?)))`, f.Query, likeContains(f.Query), f.Query, f.Query)
	}
	return page(ctx, s, "postbacks", `select `+postbackCols+` from postbacks`, "created_at", &c, f.limit(),
		func(r pgx.CollectableRow) (*oi.Postback, error) { return scanPostback(r) },
		func(p *oi.Postback) (time.Time, string) { return p.CreatedAt, p.ID })
}

// OrderReferences maps order ids to their references, for lists of
// postbacks that show which order they belong to.
func (s *Store) OrderReferences(ctx context.Context, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, _ := s.pool.Query(ctx, `select id, order_reference_id from order_requests where id = any($1)`, ids)
	var id, ref string
	_, err := pgx.ForEachRow(rows, []any{&id, &ref}, func() error { out[id] = ref; return nil })
	return out, mapErr(err, "orders")
}

// ListKeys lists the keys of one customer or printer, newest first, without
// their secrets (only the prefix that identifies them).
func (s *Store) ListKeys(ctx context.Context, ownerKind, ownerID string) ([]*oi.APIKey, error) {
	rows, _ := s.pool.Query(ctx, `select id, owner_kind, owner_id, prefix, created_at, revoked_at from api_keys
		where owner_kind = $1 and owner_id = $2 order by created_at desc, id desc`, ownerKind, ownerID)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*oi.APIKey, error) {
		var k oi.APIKey
		err := r.Scan(&k.ID, &k.OwnerKind, &k.OwnerID, &k.Prefix, &k.CreatedAt, &k.RevokedAt)
		return &k, err
	})
	return out, mapErr(err, "keys")
}

// CountOrdersByStatus counts orders per status (the orders gauge of /metrics).
func (s *Store) CountOrdersByStatus(ctx context.Context) (map[string]int64, error) {
	return s.countBy(ctx, `select status, count(*) from order_requests group by status`, "orders")
}

// CountAttemptsByOutcome counts postback attempts per outcome (attempts are
// never deleted, so each count only grows: a counter for /metrics).
func (s *Store) CountAttemptsByOutcome(ctx context.Context) (map[string]int64, error) {
	return s.countBy(ctx, `select outcome, count(*) from postback_attempts group by outcome`, "postback attempts")
}

func (s *Store) countBy(ctx context.Context, sql, what string) (map[string]int64, error) {
	rows, _ := s.pool.Query(ctx, sql)
	out := map[string]int64{}
	var k string
	var n int64
	_, err := pgx.ForEachRow(rows, []any{&k, &n}, func() error { out[k] = n; return nil })
	return out, mapErr(err, what)
}
