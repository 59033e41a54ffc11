// Package devstack runs an embedded Temporal server (SQLite) and the Temporal
// Web UI in-process, for `orderintake dev`, `bench` and the end-to-end tests.
//
// It is the only package that imports go.temporal.io/server: every binary
// that links it grows by ~200 MB. Build with the tag nodev to leave it out;
// Start then returns an error.
package devstack

import (
	"log/slog"
	"time"

	"go.temporal.io/api/enums/v1"
)

// Options configure Start. The zero value is an in-memory server on
// 127.0.0.1:7233 with namespace "default" and no UI.
type Options struct {
	// DataDir holds temporal.db; "" keeps everything in memory (tests).
	DataDir string
	// FrontendAddr is the gRPC address of the frontend; default
	// "127.0.0.1:7233", port 0 picks a free port.
	FrontendAddr string
	// UIAddr is the Web UI's address, e.g. "127.0.0.1:8233"; "" runs no UI,
	// port 0 picks a free port.
	UIAddr string
	// Namespace is created on first start; default "default".
	Namespace string
	// Retention of closed workflows in Namespace; default 30 days (the
	// server's own default of 24 h hides yesterday's orders in the Web UI).
	Retention time.Duration
	// SearchAttributes are registered on Namespace; ones added here later
	// are registered on the next start.
	SearchAttributes map[string]enums.IndexedValueType
	// Logger receives the server's logs at WARN and above; nil discards them.
	Logger *slog.Logger
	// Tuning holds the server's performance settings; the zero value is
	// what dev and bench run with.
	Tuning Tuning
}

// Tuning is the embedded server's performance settings. Each field's zero
// value is the setting dev and bench use; the others exist so that
// `orderintake bench` can measure each lever against the stock setting.
type Tuning struct {
	// HistoryShards is the number of history shards; 0 means 1. It is
	// fixed when the database is created: a data dir keeps its count.
	HistoryShards int
	// TaskQueuePartitions is the number of partitions of every task queue;
	// 0 leaves the server's default (4). One partition measured no cheaper
	// for one worker process (README, Performance).
	TaskQueuePartitions int
	// AllVisibilityIndexes keeps every index of the stock SQLite visibility
	// schema. By default the indexes on columns nothing here filters on
	// (most of the pre-allocated search-attribute columns) are dropped:
	// every visibility write maintains every index, and most of the 58 are
	// on columns that stay NULL (of the ten Keyword columns' indexes, only
	// those a custom search attribute maps to stay). A query on such a
	// column still answers, by scanning.
	AllVisibilityIndexes bool
	// GCPercent, when above 0, sets the Go garbage collector's target
	// (debug.SetGCPercent) for the whole process the server runs in: the
	// server allocates heavily, and a higher target trades memory for CPU.
	GCPercent int
	// Synchronous is SQLite's synchronous pragma for a data dir's file
	// ("" means normal: with WAL, durable except for the last transactions
	// before a power loss, never corrupt).
	Synchronous string
}

const (
	defaultFrontendAddr = "127.0.0.1:7233"
	defaultNamespace    = "default"
	defaultRetention    = 30 * 24 * time.Hour
)

func (o Options) withDefaults() Options {
	if o.FrontendAddr == "" {
		o.FrontendAddr = defaultFrontendAddr
	}
	if o.Namespace == "" {
		o.Namespace = defaultNamespace
	}
	if o.Retention <= 0 {
		o.Retention = defaultRetention
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}
