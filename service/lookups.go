package service

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	oi "orderintake"
	"orderintake/mapper"
)

const maxLookupName = 100

// LookupInput creates a lookup table or replaces one. Rows absent on
// replace keep the table's rows (HQ's edit form changes name and default
// only).
type LookupInput struct {
	CustomerID *string             `json:"customerId"`
	Name       *string             `json:"name"`
	Default    *string             `json:"default"`
	Rows       *[]mapper.LookupRow `json:"rows"`
}

// LookupRowsInput is a JSON import of lookup rows.
type LookupRowsInput struct {
	Rows []mapper.LookupRow `json:"rows"`
}

// Lookup is a lookup table with its rows sorted by key.
type Lookup struct {
	ID         string             `json:"id"`
	CustomerID string             `json:"customerId"`
	Name       string             `json:"name"`
	Default    string             `json:"default"`
	Rows       []mapper.LookupRow `json:"rows"`
	RowCount   int                `json:"rowCount"`
	Imported   int                `json:"imported,omitempty"`
	CreatedAt  time.Time          `json:"createdAt"`
	UpdatedAt  time.Time          `json:"updatedAt"`
}

// LookupSummary is a lookup table in a list (without its rows).
type LookupSummary struct {
	ID         string    `json:"id"`
	CustomerID string    `json:"customerId"`
	Name       string    `json:"name"`
	Default    string    `json:"default"`
	RowCount   int       `json:"rowCount"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

func lookupView(l *oi.LookupTable) *Lookup {
	rows := make([]mapper.LookupRow, 0, len(l.Rows))
	for k, v := range l.Rows {
		rows = append(rows, mapper.LookupRow{Key: k, Value: v})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Key < rows[j].Key })
	return &Lookup{ID: l.ID, CustomerID: l.CustomerID, Name: l.Name, Default: l.Default, Rows: rows,
		RowCount: len(rows), CreatedAt: l.CreatedAt, UpdatedAt: l.UpdatedAt}
}

// apply sets l's fields from b and returns the rows to store (nil: keep).
func (b *LookupInput) apply(l *oi.LookupTable) (map[string]string, error) {
	if b.Name != nil {
		l.Name = strings.TrimSpace(*b.Name)
	}
	if b.Default != nil {
		l.Default = *b.Default
	}
	if err := required("name", l.Name); err != nil {
		return nil, err
	}
	if utf8.RuneCountInString(l.Name) > maxLookupName {
		return nil, oi.FieldError("name", "name is longer than %d characters", maxLookupName)
	}
	if utf8.RuneCountInString(l.Default) > mapper.MaxLookupValue {
		return nil, oi.FieldError("default", "default is longer than %d characters", mapper.MaxLookupValue)
	}
	if b.Rows == nil {
		return nil, nil
	}
	if err := mapper.CheckLookupRows(*b.Rows); err != nil {
		return nil, rowsProblem(err)
	}
	return rowMap(*b.Rows), nil
}

func rowMap(rows []mapper.LookupRow) map[string]string {
	m := make(map[string]string, len(rows))
	for _, r := range rows {
		m[r.Key] = r.Value
	}
	return m
}

// rowsProblem names the row (JSON) or the line and column (CSV) at fault.
func rowsProblem(err error) error {
	var le *mapper.LookupRowError
	if !errors.As(err, &le) {
		return err
	}
	if le.Line == 0 && le.Field != "" {
		return oi.FieldError("rows["+strconv.Itoa(le.Index)+"]."+le.Field, "%s", le.Error())
	}
	e := &oi.Error{Code: oi.EINVALID, Field: "body", Message: le.Error()}
	if le.Line > 0 {
		e.Detail = map[string]any{"line": le.Line}
		if le.Column > 0 {
			e.Detail["column"] = le.Column
		}
	}
	return e
}

// CreateLookup validates and stores a customer's lookup table.
func (a *Admin) CreateLookup(ctx context.Context, b LookupInput) (*Lookup, error) {
	l := &oi.LookupTable{ID: oi.NewID("lkp")}
	if b.CustomerID != nil {
		l.CustomerID = strings.TrimSpace(*b.CustomerID)
	}
	if err := required("customerId", l.CustomerID); err != nil {
		return nil, err
	}
	if _, err := a.Store.GetCustomer(ctx, l.CustomerID); err != nil {
		return nil, RefError("customerId", "customer", l.CustomerID, err)
	}
	rows, err := b.apply(l)
	if err != nil {
		return nil, err
	}
	l.Rows = rows
	if l.Rows == nil {
		l.Rows = map[string]string{}
	}
	out, err := a.Store.CreateLookup(ctx, l)
	if err != nil {
		return nil, err
	}
	return lookupView(out), nil
}

// Lookups lists the lookup tables of a customer ("" every customer).
func (a *Admin) Lookups(ctx context.Context, customerID string) ([]LookupSummary, error) {
	list, err := a.Store.ListLookupSummaries(ctx, strings.TrimSpace(customerID))
	if err != nil {
		return nil, err
	}
	out := make([]LookupSummary, 0, len(list))
	for _, l := range list {
		out = append(out, LookupSummary{ID: l.ID, CustomerID: l.CustomerID, Name: l.Name, Default: l.Default,
			RowCount: l.RowCount, CreatedAt: l.CreatedAt, UpdatedAt: l.UpdatedAt})
	}
	return out, nil
}

// Lookup is one table with its rows.
func (a *Admin) Lookup(ctx context.Context, id string) (*Lookup, error) {
	l, err := a.Store.GetLookup(ctx, id)
	if err != nil {
		return nil, err
	}
	return lookupView(l), nil
}

// ReplaceLookup replaces a table's name, default and (when given) rows.
func (a *Admin) ReplaceLookup(ctx context.Context, id string, b LookupInput) (*Lookup, error) {
	l, err := a.Store.GetLookup(ctx, id)
	if err != nil {
		return nil, err
	}
	if b.CustomerID != nil && strings.TrimSpace(*b.CustomerID) != l.CustomerID {
		return nil, oi.FieldError("customerId", "a lookup table's customer cannot change (it is %s)", l.CustomerID)
	}
	rows, err := b.apply(l)
	if err != nil {
		return nil, err
	}
	out, err := a.Store.ReplaceLookup(ctx, l, rows)
	if err != nil {
		return nil, err
	}
	return lookupView(out), nil
}

// ImportLookupRows adds rows to a table, or changes the value of keys it
// has; all or nothing.
func (a *Admin) ImportLookupRows(ctx context.Context, id string, rows []mapper.LookupRow) (*Lookup, error) {
	if _, err := a.Store.GetLookup(ctx, id); err != nil {
		return nil, err
	}
	if err := mapper.CheckLookupRows(rows); err != nil {
		return nil, rowsProblem(err)
	}
	return a.importRows(ctx, id, rows)
}

// ImportLookupCSV imports key,value lines (an optional header first).
func (a *Admin) ImportLookupCSV(ctx context.Context, id string, csv []byte) (*Lookup, error) {
	if _, err := a.Store.GetLookup(ctx, id); err != nil {
		return nil, err
	}
	rows, err := mapper.ParseLookupCSV(csv)
	if err != nil {
		return nil, rowsProblem(err)
	}
	return a.importRows(ctx, id, rows)
}

func (a *Admin) importRows(ctx context.Context, id string, rows []mapper.LookupRow) (*Lookup, error) {
	if len(rows) == 0 {
		return nil, oi.FieldError("body", "the import has no rows")
	}
	out, err := a.Store.AppendLookupRows(ctx, id, rowMap(rows), mapper.MaxLookupRows)
	if err != nil {
		return nil, err
	}
	v := lookupView(out)
	v.Imported = len(rows)
	return v, nil
}
