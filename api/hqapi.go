package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	oi "orderintake"
	"orderintake/store"
)

// hqAdminRoutes are admin JSON routes the HQ pages need beyond the core
// CRUD: the keys of a customer or printer (prefixes only, never the key).
func (s *Server) hqAdminRoutes(g *gin.RouterGroup) {
	g.GET("/customers/:id/keys", s.listKeys(oi.OwnerCustomer))
	g.GET("/printers/:id/keys", s.listKeys(oi.OwnerPrinter))
}

func (s *Server) listKeys(kind string) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx := c.Request.Context()
		if err := s.keyOwnerExists(ctx, kind, c.Param("id")); err != nil {
			s.fail(c, err)
			return
		}
		out, err := s.Store.ListKeys(ctx, kind, c.Param("id"))
		s.reply(c, http.StatusOK, items(out), err)
	}
}

// keyOwnerExists is ENOTFOUND unless the customer or printer exists.
func (s *Server) keyOwnerExists(ctx context.Context, kind, id string) error {
	var err error
	if kind == oi.OwnerCustomer {
		_, err = s.Store.GetCustomer(ctx, id)
	} else {
		_, err = s.Store.GetPrinter(ctx, id)
	}
	return err
}

// OrderStatuses and PostbackStatuses are the domain's lists (package
// orderintake), named here for the API's callers.
var (
	OrderStatuses    = oi.OrderStatuses
	PostbackStatuses = oi.PostbackStatuses
)

// checkRequestFilter refuses filters the Requests list cannot match, so a
// typo gets a clear problem instead of an empty page.
func checkRequestFilter(f store.ListFilter) error {
	if f.Status != "" {
		return oneOf("status", f.Status, OrderStatuses...)
	}
	return nil
}

func checkPostbackFilter(f store.ListFilter) error {
	var errs []error
	if f.Status != "" {
		errs = append(errs, oneOf("status", f.Status, PostbackStatuses...))
	}
	if f.Event != "" {
		errs = append(errs, oneOf("event", f.Event, oi.Events...))
	}
	return firstErr(errs...)
}
