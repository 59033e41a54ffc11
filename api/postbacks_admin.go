package api

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"orderintake/service"
)

// postbackRoutes are the operator's postback actions: send a test, resend
// one postback or many, and the SMTP and alert work settings.
func (s *Server) postbackRoutes(g *gin.RouterGroup) {
	g.POST("/triggers/:id/test", s.sendTestPostback)
	g.POST("/postbacks/resend", s.bulkResend)
	g.POST("/postbacks/:id/resend", s.resendPostback)
	g.GET("/settings/smtp", s.getSMTPSettings)
	g.PUT("/settings/smtp", s.putSMTPSettings)
	g.GET("/settings/alerts", s.getAlertSettings)
	g.PUT("/settings/alerts", s.putAlertSettings)
}

// bindOptional decodes a strict JSON body that may be absent.
func (s *Server) bindOptional(c *gin.Context, v any) bool {
	body, err := readBody(c, 1<<20)
	if err == nil && len(strings.TrimSpace(string(body))) > 0 {
		err = decodeStrict(body, v)
	}
	if err != nil {
		s.fail(c, err)
		return false
	}
	return true
}

// sendTestPostback renders the trigger against the sample of an event (the
// trigger's own by default) and delivers it asynchronously, once.
func (s *Server) sendTestPostback(c *gin.Context) {
	if _, err := s.admin.Trigger(c.Request.Context(), c.Param("id")); err != nil {
		s.fail(c, err)
		return
	}
	var b service.TestPostbackInput
	if !s.bindOptional(c, &b) {
		return
	}
	out, err := s.admin.TestPostback(c.Request.Context(), c.Param("id"), b.Event)
	s.reply(c, http.StatusAccepted, out, err)
}

// resendPostback starts a new attempt series of one postback.
func (s *Server) resendPostback(c *gin.Context) {
	out, err := s.admin.Resend(c.Request.Context(), c.Param("id"))
	s.reply(c, http.StatusAccepted, out, err)
}

// bulkResend resends the postbacks of a time window and status.
func (s *Server) bulkResend(c *gin.Context) {
	var b service.BulkResendInput
	if !s.bind(c, &b) {
		return
	}
	out, err := s.admin.BulkResend(c.Request.Context(), b)
	s.reply(c, http.StatusAccepted, out, err)
}

func (s *Server) getSMTPSettings(c *gin.Context) {
	out, err := s.admin.SMTPSettings(c.Request.Context())
	s.reply(c, http.StatusOK, out, err) // the password is never serialised (json:"-")
}

func (s *Server) putSMTPSettings(c *gin.Context) {
	var b service.SMTPInput
	if !s.bind(c, &b) {
		return
	}
	out, err := s.admin.PutSMTPSettings(c.Request.Context(), b)
	s.reply(c, http.StatusOK, out, err)
}
