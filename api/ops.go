package api

import (
	"time"

	"github.com/gin-gonic/gin"

	"orderintake/hq"
	"orderintake/metrics"
	"orderintake/overview"
)

// opsRoutes counts requests (package metrics) on every route registered
// after it and serves /metrics, /openapi.json and the HQ pages (package
// hq, over the same services as the admin routes).
func (s *Server) opsRoutes(r *gin.Engine) {
	m := metrics.New(s.Store, s.Metrics)
	m.MustRegister(s.life.Fallbacks)
	r.Use(func(c *gin.Context) {
		start := time.Now()
		c.Next()
		m.ObserveHTTP(c.Request.Method, c.FullPath(), c.Writer.Status(), time.Since(start))
	})
	r.GET("/metrics", gin.WrapH(m.Handler()))
	r.GET("/openapi.json", s.openAPI)
	hq.New(hq.Config{Admin: s.admin, Views: s.views, Life: s.life, Overview: &overview.Service{Store: s.Store, Logger: s.log},
		Sessions: s.Store, Throttle: s.throttle, AdminToken: s.AdminToken, PublicURL: s.PublicURL, Logger: s.log}).Mount(r)
}

// orderAttrs names the order a request is about in its log lines (routes
// whose :id is an order id), so a grep for the id finds them too.
func orderAttrs(c *gin.Context) []any {
	switch c.FullPath() {
	case "/v1/orders/:id", "/v1/orders/:id/cancel", "/v1/printer/orders/:id/events", "/v1/admin/requests/:id":
		return []any{"orderId", c.Param("id")}
	}
	return nil
}
