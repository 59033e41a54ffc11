//go:build !nodev

package devstack

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

func TestServerLoggerWithTags(t *testing.T) {
	var buf bytes.Buffer
	base := newServerLogger(slog.New(slog.NewTextHandler(&buf, nil)))
	shard := log.With(base, tag.ShardID(3))
	a := log.With(shard, tag.WorkflowID("order/a"))
	b := log.With(shard, tag.WorkflowID("order/b"))

	a.Info("dropped: below WARN")
	a.Warn("task failed", tag.Attempt(2))
	b.Error("task failed")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines (WARN and ERROR), got %d:\n%s", len(lines), buf.String())
	}
	for _, want := range []string{"shard-id=3", "wf-id=order/a", "attempt=2"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("WARN line lacks %s: %s", want, lines[0])
		}
	}
	// Loggers derived from one parent keep their own tags.
	if !strings.Contains(lines[1], "wf-id=order/b") || strings.Contains(lines[1], "order/a") || !strings.Contains(lines[1], "shard-id=3") {
		t.Errorf("ERROR line has the wrong tags: %s", lines[1])
	}
}
