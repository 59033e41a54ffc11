package api

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	oi "orderintake"
	"orderintake/service"
)

// templateRoutes: rendering a template on trial input, template versions and
// rollback, and the lookup tables templates read.
func (s *Server) templateRoutes(g *gin.RouterGroup) {
	g.POST("/templates/render", s.renderTemplate)
	g.GET("/templates/:id/versions/:version", s.templateVersion)
	g.POST("/templates/:id/rollback", s.rollbackTemplate)
	s.lookupRoutes(g)
}

func (s *Server) renderTemplate(c *gin.Context) {
	var b service.RenderInput
	if !s.bind(c, &b) {
		return
	}
	out, err := s.admin.Render(c.Request.Context(), b)
	s.reply(c, http.StatusOK, out, err)
}

// templateVersion is one saved version of a template.
func (s *Server) templateVersion(c *gin.Context) {
	v, err := strconv.Atoi(c.Param("version"))
	if err != nil || v < 1 {
		s.fail(c, oi.Errorf(oi.ENOTFOUND, "template versions are numbered 1, 2, ...; there is no version %q", c.Param("version")))
		return
	}
	out, err := s.admin.TemplateVersion(c.Request.Context(), c.Param("id"), v)
	s.reply(c, http.StatusOK, out, err)
}

// rollbackTemplate saves an old version as the new current one.
func (s *Server) rollbackTemplate(c *gin.Context) {
	if _, err := s.admin.Template(c.Request.Context(), c.Param("id")); err != nil {
		s.fail(c, err)
		return
	}
	var b service.RollbackInput
	if !s.bind(c, &b) {
		return
	}
	out, err := s.admin.RollbackTemplate(c.Request.Context(), c.Param("id"), b.Version)
	s.reply(c, http.StatusOK, out, err)
}
