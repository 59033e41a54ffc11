package store

import (
	"context"

	oi "orderintake"
)

// GetTemplateVersion reads one saved version of a template.
func (s *Store) GetTemplateVersion(ctx context.Context, id string, version int) (*oi.TemplateVersion, error) {
	var v oi.TemplateVersion
	err := s.pool.QueryRow(ctx, `select template_id, version, format, body, subject, created_at, strict from template_versions
		where template_id = $1 and version = $2`, id, version).Scan(&v.TemplateID, &v.Version, &v.Format, &v.Body, &v.Subject, &v.CreatedAt, &v.Strict)
	if err != nil {
		return nil, mapErr(err, "template version")
	}
	return &v, nil
}
