-- Issue 13 (hardening): printer headers (often the printer's credentials) are
-- sealed at rest; `headers` keeps the names with masked values for display.
-- Rows written before keep their clear headers until the api or worker
-- reseals them at start (store.ResealSecrets).
alter table printers add column if not exists headers_sealed bytea;

-- AUTH over an unencrypted SMTP connection only when the operator says so.
alter table smtp_settings add column if not exists allow_plain_auth boolean not null default false;
