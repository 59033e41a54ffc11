package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"orderintake/service"
)

// Operator alerts (issue 15): who is told when a trigger's endpoint or a
// printer fails (service.Admin.PutAlertSettings).

func (s *Server) getAlertSettings(c *gin.Context) {
	out, err := s.admin.AlertSettings(c.Request.Context())
	s.reply(c, http.StatusOK, out, err)
}

func (s *Server) putAlertSettings(c *gin.Context) {
	var b service.AlertInput
	if !s.bind(c, &b) {
		return
	}
	out, err := s.admin.PutAlertSettings(c.Request.Context(), b)
	s.reply(c, http.StatusOK, out, err)
}
