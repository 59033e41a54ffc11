package api

import (
	"mime"
	"net/http"

	"github.com/gin-gonic/gin"

	oi "orderintake"
	"orderintake/mapper"
	"orderintake/service"
)

func (s *Server) lookupRoutes(g *gin.RouterGroup) {
	g.POST("/lookups", s.createLookup)
	g.GET("/lookups", s.listLookups)
	g.GET("/lookups/:id", s.getLookup)
	g.PUT("/lookups/:id", s.putLookup)
	g.POST("/lookups/:id/rows", s.importLookupRows)
}

func (s *Server) createLookup(c *gin.Context) {
	var b service.LookupInput
	if !s.bind(c, &b) {
		return
	}
	out, err := s.admin.CreateLookup(c.Request.Context(), b)
	s.reply(c, http.StatusCreated, out, err)
}

func (s *Server) listLookups(c *gin.Context) {
	out, err := s.admin.Lookups(c.Request.Context(), c.Query("customerId"))
	replyList(s, c, out, err)
}

func (s *Server) getLookup(c *gin.Context) {
	out, err := s.admin.Lookup(c.Request.Context(), c.Param("id"))
	s.reply(c, http.StatusOK, out, err)
}

// putLookup replaces a table's name, default and (when given) rows.
func (s *Server) putLookup(c *gin.Context) {
	if _, err := s.admin.Lookup(c.Request.Context(), c.Param("id")); err != nil {
		s.fail(c, err)
		return
	}
	var b service.LookupInput
	if !s.bind(c, &b) {
		return
	}
	out, err := s.admin.ReplaceLookup(c.Request.Context(), c.Param("id"), b)
	s.reply(c, http.StatusOK, out, err)
}

// importLookupRows adds rows to a table, or changes the value of keys it
// has: text/csv (key,value lines, optional header) or JSON {rows: [...]}.
// The import is all or nothing.
func (s *Server) importLookupRows(c *gin.Context) {
	ctx := c.Request.Context()
	if _, err := s.admin.Lookup(ctx, c.Param("id")); err != nil {
		s.fail(c, err)
		return
	}
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	switch mt {
	case "text/csv", "application/csv":
		body, err := readBody(c, mapper.MaxLookupCSVBytes)
		if err != nil {
			s.fail(c, err)
			return
		}
		out, err := s.admin.ImportLookupCSV(ctx, c.Param("id"), body)
		s.reply(c, http.StatusOK, out, err)
	case "application/json":
		var b service.LookupRowsInput
		if !s.bind(c, &b) {
			return
		}
		out, err := s.admin.ImportLookupRows(ctx, c.Param("id"), b.Rows)
		s.reply(c, http.StatusOK, out, err)
	default:
		s.fail(c, &oi.Error{Code: oi.EUNSUPPORTED, Field: "Content-Type",
			Message: "send rows as text/csv (key,value lines) or application/json ({\"rows\": [{\"key\": ..., \"value\": ...}]})"})
	}
}
