// Package schema holds the database migrations, embedded in the binary so
// every command applies the same schema. store.Migrate applies them with
// tern under an advisory lock (only store imports the driver).
package schema

import "embed"

// Migrations are tern migrations: NNN_name.sql, applied in order.
//
//go:embed migrations/*.sql
var Migrations embed.FS
