package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	oi "orderintake"
	"orderintake/service"
	"orderintake/store"
)

// The admin JSON routes: each handler binds its input, calls the admin
// service (package service, which HQ's pages call too) and writes the
// answer as JSON or the error as a problem (errors.go).

func (s *Server) adminRoutes(g *gin.RouterGroup) {
	g.POST("/customers", s.createCustomer)
	g.GET("/customers", s.listCustomers)
	g.GET("/customers/:id", s.getCustomer)
	g.PATCH("/customers/:id", s.patchCustomer)
	g.POST("/customers/:id/keys", s.createKey(oi.OwnerCustomer))
	g.GET("/customers/:id/keys", s.listKeys(oi.OwnerCustomer))
	g.DELETE("/customers/:id/keys/:keyId", s.revokeKey(oi.OwnerCustomer))

	g.POST("/printers", s.createPrinter)
	g.GET("/printers", s.listPrinters)
	g.GET("/printers/:id", s.getPrinter)
	g.PATCH("/printers/:id", s.patchPrinter)
	g.POST("/printers/:id/keys", s.createKey(oi.OwnerPrinter))
	g.GET("/printers/:id/keys", s.listKeys(oi.OwnerPrinter))
	g.DELETE("/printers/:id/keys/:keyId", s.revokeKey(oi.OwnerPrinter))

	g.POST("/templates", s.createTemplate)
	g.GET("/templates", s.listTemplates)
	g.GET("/templates/:id", s.getTemplate)
	g.PUT("/templates/:id", s.putTemplate)
	g.GET("/templates/:id/versions", s.templateVersions)

	g.POST("/triggers", s.createTrigger)
	g.GET("/triggers", s.listTriggers)
	g.GET("/triggers/:id", s.getTrigger)
	g.PATCH("/triggers/:id", s.patchTrigger)
	g.POST("/triggers/:id/rotate-secret", s.rotateSecret)

	g.GET("/requests", s.listRequests)
	g.GET("/requests/:id", s.getRequest)
	g.POST("/requests/resubmit", s.resubmitWindow)
	g.POST("/requests/:id/resubmit", s.resubmitOrder)
	g.POST("/requests/:id/cancel", s.adminCancel)
	g.GET("/postbacks", s.listPostbacks)
	g.GET("/postbacks/:id", s.getPostback)
	s.postbackRoutes(g)
	s.templateRoutes(g)
}

// bind decodes a strict JSON body (unknown fields refused) of at most 1 MiB.
func (s *Server) bind(c *gin.Context, v any) bool {
	body, err := readBody(c, 1<<20)
	if err == nil {
		err = decodeStrict(body, v)
	}
	if err != nil {
		s.fail(c, err)
		return false
	}
	return true
}

// reply writes v as JSON, or the error as a problem.
func (s *Server) reply(c *gin.Context, status int, v any, err error) {
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(status, v)
}

// replyList writes a configuration list as {items, nextCursor: null}.
func replyList[T any](s *Server, c *gin.Context, list []T, err error) {
	s.reply(c, http.StatusOK, items(list), err)
}

// ---- customers

func (s *Server) createCustomer(c *gin.Context) {
	var b service.CustomerInput
	if !s.bind(c, &b) {
		return
	}
	out, err := s.admin.CreateCustomer(c.Request.Context(), b)
	s.reply(c, http.StatusCreated, out, err)
}

func (s *Server) listCustomers(c *gin.Context) {
	out, err := s.admin.Customers(c.Request.Context())
	replyList(s, c, out, err)
}

func (s *Server) getCustomer(c *gin.Context) {
	out, err := s.admin.Customer(c.Request.Context(), c.Param("id"))
	s.reply(c, http.StatusOK, out, err)
}

func (s *Server) patchCustomer(c *gin.Context) {
	// An unknown customer is a 404 before its body is read.
	if _, err := s.admin.Customer(c.Request.Context(), c.Param("id")); err != nil {
		s.fail(c, err)
		return
	}
	var b service.CustomerInput
	if !s.bind(c, &b) {
		return
	}
	out, err := s.admin.UpdateCustomer(c.Request.Context(), c.Param("id"), b)
	s.reply(c, http.StatusOK, out, err)
}

// ---- keys

func (s *Server) createKey(kind string) gin.HandlerFunc {
	return func(c *gin.Context) {
		k, err := s.admin.CreateKey(c.Request.Context(), kind, c.Param("id"))
		s.reply(c, http.StatusCreated, k, err)
	}
}

// listKeys lists the keys of a customer or printer (prefixes only).
func (s *Server) listKeys(kind string) gin.HandlerFunc {
	return func(c *gin.Context) {
		out, err := s.admin.Keys(c.Request.Context(), kind, c.Param("id"))
		replyList(s, c, out, err)
	}
}

func (s *Server) revokeKey(kind string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := s.admin.RevokeKey(c.Request.Context(), kind, c.Param("id"), c.Param("keyId")); err != nil {
			s.fail(c, err)
			return
		}
		c.Status(http.StatusNoContent)
	}
}

// ---- printers

func (s *Server) createPrinter(c *gin.Context) {
	var b service.PrinterInput
	if !s.bind(c, &b) {
		return
	}
	out, err := s.admin.CreatePrinter(c.Request.Context(), b)
	s.reply(c, http.StatusCreated, out, err)
}

func (s *Server) listPrinters(c *gin.Context) {
	out, err := s.admin.Printers(c.Request.Context())
	replyList(s, c, out, err)
}

func (s *Server) getPrinter(c *gin.Context) {
	out, err := s.admin.Printer(c.Request.Context(), c.Param("id"))
	s.reply(c, http.StatusOK, out, err)
}

func (s *Server) patchPrinter(c *gin.Context) {
	if _, err := s.admin.Printer(c.Request.Context(), c.Param("id")); err != nil {
		s.fail(c, err)
		return
	}
	var b service.PrinterInput
	if !s.bind(c, &b) {
		return
	}
	out, err := s.admin.UpdatePrinter(c.Request.Context(), c.Param("id"), b)
	s.reply(c, http.StatusOK, out, err)
}

// ---- templates

func (s *Server) createTemplate(c *gin.Context) {
	var b service.TemplateInput
	if !s.bind(c, &b) {
		return
	}
	out, err := s.admin.CreateTemplate(c.Request.Context(), b)
	s.reply(c, http.StatusCreated, out, err)
}

func (s *Server) listTemplates(c *gin.Context) {
	out, err := s.admin.Templates(c.Request.Context())
	replyList(s, c, out, err)
}

func (s *Server) getTemplate(c *gin.Context) {
	out, err := s.admin.Template(c.Request.Context(), c.Param("id"))
	s.reply(c, http.StatusOK, out, err)
}

func (s *Server) putTemplate(c *gin.Context) {
	if _, err := s.admin.Template(c.Request.Context(), c.Param("id")); err != nil {
		s.fail(c, err)
		return
	}
	var b service.TemplateInput
	if !s.bind(c, &b) {
		return
	}
	out, err := s.admin.UpdateTemplate(c.Request.Context(), c.Param("id"), b)
	s.reply(c, http.StatusOK, out, err)
}

func (s *Server) templateVersions(c *gin.Context) {
	out, err := s.admin.TemplateVersions(c.Request.Context(), c.Param("id"))
	replyList(s, c, out, err)
}

// ---- triggers

func (s *Server) createTrigger(c *gin.Context) {
	var b service.TriggerInput
	if !s.bind(c, &b) {
		return
	}
	out, err := s.admin.CreateTrigger(c.Request.Context(), b)
	s.reply(c, http.StatusCreated, out, err)
}

func (s *Server) listTriggers(c *gin.Context) {
	out, err := s.admin.Triggers(c.Request.Context(), c.Query("customerId"))
	replyList(s, c, out, err)
}

func (s *Server) getTrigger(c *gin.Context) {
	out, err := s.admin.Trigger(c.Request.Context(), c.Param("id"))
	s.reply(c, http.StatusOK, out, err)
}

func (s *Server) patchTrigger(c *gin.Context) {
	if _, err := s.admin.Trigger(c.Request.Context(), c.Param("id")); err != nil {
		s.fail(c, err)
		return
	}
	var b service.TriggerInput
	if !s.bind(c, &b) {
		return
	}
	out, err := s.admin.UpdateTrigger(c.Request.Context(), c.Param("id"), b)
	s.reply(c, http.StatusOK, out, err)
}

func (s *Server) rotateSecret(c *gin.Context) {
	out, err := s.admin.RotateSecret(c.Request.Context(), c.Param("id"))
	s.reply(c, http.StatusOK, out, err)
}

// ---- requests and postbacks

// ListFilter reads the shared list query parameters of the Requests and
// Postbacks lists.
func listFilter(c *gin.Context) (store.ListFilter, error) {
	f := store.ListFilter{CustomerID: c.Query("customerId"), Status: c.Query("status"), Event: c.Query("event"),
		TriggerID: c.Query("triggerId"), OrderID: c.Query("orderId"), Reference: c.Query("reference"), Cursor: c.Query("cursor"),
		PrinterID: c.Query("printerId"), Query: strings.TrimSpace(c.Query("q"))}
	for name, dst := range map[string]*time.Time{"from": &f.From, "to": &f.To} {
		if v := c.Query(name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return f, oi.FieldError(name, "%s must be an RFC 3339 time, like 2026-11-22T00:00:00Z", name)
			}
			*dst = t
		}
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return f, oi.FieldError("limit", "limit must be a number from 1 to 500")
		}
		f.Limit = n
	}
	return f, nil
}

func (s *Server) listRequests(c *gin.Context) {
	f, err := listFilter(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	out, next, err := s.views.Requests(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, page(out, next))
}

// getRequest is the Requests view of one order: the four stages, the event
// timeline and the postbacks it fired.
func (s *Server) getRequest(c *gin.Context) {
	out, err := s.views.Request(c.Request.Context(), c.Param("id"))
	s.reply(c, http.StatusOK, out, err)
}

func (s *Server) listPostbacks(c *gin.Context) {
	f, err := listFilter(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	out, next, err := s.views.Postbacks(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, page(out, next))
}

func (s *Server) getPostback(c *gin.Context) {
	out, err := s.views.Postback(c.Request.Context(), c.Param("id"))
	s.reply(c, http.StatusOK, out, err)
}
