package api

import (
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	oi "orderintake"
	"orderintake/mapper"
)

func (s *Server) lookupRoutes(g *gin.RouterGroup) {
	g.POST("/lookups", s.createLookup)
	g.GET("/lookups", s.listLookups)
	g.GET("/lookups/:id", s.getLookup)
	g.PUT("/lookups/:id", s.putLookup)
	g.POST("/lookups/:id/rows", s.importLookupRows)
}

const maxLookupName = 100

// lookupBody is the JSON of create and replace. Rows absent on replace keep
// the table's rows (HQ's edit form changes name and default only).
type lookupBody struct {
	CustomerID *string             `json:"customerId"`
	Name       *string             `json:"name"`
	Default    *string             `json:"default"`
	Rows       *[]mapper.LookupRow `json:"rows"`
}

// apply sets l's fields from b and returns the rows to store (nil: keep).
func (b *lookupBody) apply(l *oi.LookupTable) (map[string]string, error) {
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

// lookupView answers a table with its rows as [{key, value}] sorted by key:
// the shape create and replace take.
func (s *Server) createLookup(c *gin.Context) {
	ctx := c.Request.Context()
	var b lookupBody
	if !s.bind(c, &b) {
		return
	}
	l := &oi.LookupTable{ID: oi.NewID("lkp")}
	if b.CustomerID != nil {
		l.CustomerID = strings.TrimSpace(*b.CustomerID)
	}
	if err := required("customerId", l.CustomerID); err != nil {
		s.fail(c, err)
		return
	}
	if _, err := s.Store.GetCustomer(ctx, l.CustomerID); err != nil {
		s.fail(c, refError("customerId", "customer", l.CustomerID, err))
		return
	}
	rows, err := b.apply(l)
	if err != nil {
		s.fail(c, err)
		return
	}
	l.Rows = rows
	if l.Rows == nil {
		l.Rows = map[string]string{}
	}
	out, err := s.Store.CreateLookup(ctx, l)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, lookupView(out))
}

func (s *Server) listLookups(c *gin.Context) {
	list, err := s.Store.ListLookupSummaries(c.Request.Context(), strings.TrimSpace(c.Query("customerId")))
	if err != nil {
		s.fail(c, err)
		return
	}
	out := make([]LookupSummary, 0, len(list))
	for _, l := range list {
		out = append(out, LookupSummary{ID: l.ID, CustomerID: l.CustomerID, Name: l.Name, Default: l.Default,
			RowCount: l.RowCount, CreatedAt: l.CreatedAt, UpdatedAt: l.UpdatedAt})
	}
	c.JSON(http.StatusOK, items(out))
}

func (s *Server) getLookup(c *gin.Context) {
	l, err := s.Store.GetLookup(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, lookupView(l))
}

// putLookup replaces a table's name, default and (when given) rows.
func (s *Server) putLookup(c *gin.Context) {
	ctx := c.Request.Context()
	l, err := s.Store.GetLookup(ctx, c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	var b lookupBody
	if !s.bind(c, &b) {
		return
	}
	if b.CustomerID != nil && strings.TrimSpace(*b.CustomerID) != l.CustomerID {
		s.fail(c, oi.FieldError("customerId", "a lookup table's customer cannot change (it is %s)", l.CustomerID))
		return
	}
	rows, err := b.apply(l)
	if err != nil {
		s.fail(c, err)
		return
	}
	out, err := s.Store.ReplaceLookup(ctx, l, rows)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, lookupView(out))
}

// importLookupRows adds rows to a table, or changes the value of keys it
// has: text/csv (key,value lines, optional header) or JSON {rows: [...]}.
// The import is all or nothing.
func (s *Server) importLookupRows(c *gin.Context) {
	ctx := c.Request.Context()
	if _, err := s.Store.GetLookup(ctx, c.Param("id")); err != nil {
		s.fail(c, err)
		return
	}
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	var rows []mapper.LookupRow
	switch mt {
	case "text/csv", "application/csv":
		body, err := readBody(c, mapper.MaxLookupCSVBytes)
		if err != nil {
			s.fail(c, err)
			return
		}
		if rows, err = mapper.ParseLookupCSV(body); err != nil {
			s.fail(c, rowsProblem(err))
			return
		}
	case "application/json":
		var b lookupRowsBody
		if !s.bind(c, &b) {
			return
		}
		if err := mapper.CheckLookupRows(b.Rows); err != nil {
			s.fail(c, rowsProblem(err))
			return
		}
		rows = b.Rows
	default:
		s.fail(c, &oi.Error{Code: oi.EUNSUPPORTED, Field: "Content-Type",
			Message: "send rows as text/csv (key,value lines) or application/json ({\"rows\": [{\"key\": ..., \"value\": ...}]})"})
		return
	}
	if len(rows) == 0 {
		s.fail(c, oi.FieldError("body", "the import has no rows"))
		return
	}
	out, err := s.Store.AppendLookupRows(ctx, c.Param("id"), rowMap(rows), mapper.MaxLookupRows)
	if err != nil {
		s.fail(c, err)
		return
	}
	v := lookupView(out)
	v.Imported = len(rows)
	c.JSON(http.StatusOK, v)
}

// lookupRowsBody is a JSON import of lookup rows.
type lookupRowsBody struct {
	Rows []mapper.LookupRow `json:"rows"`
}
