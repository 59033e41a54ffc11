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
	Reference  string // requests only: order reference, prefix match
	Limit      int
	Cursor     string
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

// where builds the shared filter clauses; timeCol is the sort time column.
func (f *ListFilter) where(timeCol string, args *[]any) (string, error) {
	var conds []string
	add := func(cond string, v any) {
		*args = append(*args, v)
		conds = append(conds, fmt.Sprintf(cond, len(*args)))
	}
	if !f.From.IsZero() {
		add(timeCol+" >= $%d", f.From)
	}
	if !f.To.IsZero() {
		add(timeCol+" < $%d", f.To)
	}
	if f.CustomerID != "" {
		add("customer_id = $%d", f.CustomerID)
	}
	if f.Status != "" {
		add("status = $%d", f.Status)
	}
	c, err := decodeCursor(f.Cursor)
	if err != nil {
		return "", err
	}
	if c != nil {
		*args = append(*args, c.T, c.ID)
		conds = append(conds, fmt.Sprintf("(%s, id) < ($%d, $%d)", timeCol, len(*args)-1, len(*args)))
	}
	return strings.Join(conds, " and "), nil
}

func (f *ListFilter) limit() int {
	if f.Limit <= 0 {
		return 50
	}
	return min(f.Limit, 500)
}

func joinWhere(parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p != "" {
			keep = append(keep, p)
		}
	}
	if len(keep) == 0 {
		return ""
	}
	return " where " + strings.Join(keep, " and ")
}

// ListOrderRequests lists orders for the Requests view.
func (s *Store) ListOrderRequests(ctx context.Context, f ListFilter) ([]*oi.OrderRequest, string, error) {
	var args []any
	w, err := f.where("received_at", &args)
	if err != nil {
		return nil, "", err
	}
	ref := ""
	if f.Reference != "" {
		args = append(args, likePrefix(f.Reference))
		ref = fmt.Sprintf("order_reference_id like $%d", len(args))
	}
	n := f.limit()
	rows, _ := s.pool.Query(ctx, `select `+orderCols+` from order_requests`+joinWhere(w, ref)+
		fmt.Sprintf(` order by received_at desc, id desc limit %d`, n+1), args...)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*oi.OrderRequest, error) { return scanOrder(r) })
	if err != nil {
		return nil, "", mapErr(err, "orders")
	}
	next := ""
	if len(out) > n {
		out = out[:n]
		last := out[n-1]
		next = encodeCursor(last.ReceivedAt, last.ID)
	}
	return out, next, nil
}

func likePrefix(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s) + "%"
}

// ListPostbacks lists postbacks for the Postbacks view.
func (s *Store) ListPostbacks(ctx context.Context, f ListFilter) ([]*oi.Postback, string, error) {
	var args []any
	w, err := f.where("created_at", &args)
	if err != nil {
		return nil, "", err
	}
	var extra []string
	for col, v := range map[string]string{"event": f.Event, "trigger_id": f.TriggerID, "order_id": f.OrderID} {
		if v != "" {
			args = append(args, v)
			extra = append(extra, fmt.Sprintf("%s = $%d", col, len(args)))
		}
	}
	n := f.limit()
	rows, _ := s.pool.Query(ctx, `select `+postbackCols+` from postbacks`+joinWhere(append([]string{w}, extra...)...)+
		fmt.Sprintf(` order by created_at desc, id desc limit %d`, n+1), args...)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*oi.Postback, error) { return scanPostback(r) })
	if err != nil {
		return nil, "", mapErr(err, "postbacks")
	}
	next := ""
	if len(out) > n {
		out = out[:n]
		last := out[n-1]
		next = encodeCursor(last.CreatedAt, last.ID)
	}
	return out, next, nil
}
