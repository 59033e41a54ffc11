package api

import (
	"time"

	"github.com/gin-gonic/gin"

	"orderintake/metrics"
)

// opsRoutes counts requests (package metrics) on every route registered
// after it, the HQ pages mounted later by the assembly included, and serves
// /metrics and /openapi.json.
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
