//go:build !nodev

package devstack

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// serverLogger adapts slog to the server's logger. The server is chatty at
// INFO (every shard, every service start), so only WARN and above pass.
// With only remembers its tags: the server derives a tagged logger for
// every task it runs, and formatting those tags up front (slog's With)
// cost ≈ 1 % of the server's CPU for lines that are almost never written.
type serverLogger struct {
	log   *slog.Logger
	tags  []tag.Tag    // from With, put on the records emitted
	quiet *atomic.Bool // shared by the loggers With derives
}

func newServerLogger(l *slog.Logger) serverLogger {
	return serverLogger{log: l, quiet: new(atomic.Bool)}
}

var (
	_ log.Logger     = serverLogger{}
	_ log.WithLogger = serverLogger{}
)

func (l serverLogger) Debug(string, ...tag.Tag)           {}
func (l serverLogger) Info(string, ...tag.Tag)            {}
func (l serverLogger) Warn(msg string, tags ...tag.Tag)   { l.emit(slog.LevelWarn, msg, tags) }
func (l serverLogger) Error(msg string, tags ...tag.Tag)  { l.emit(slog.LevelError, msg, tags) }
func (l serverLogger) DPanic(msg string, tags ...tag.Tag) { l.emit(slog.LevelError, msg, tags) }
func (l serverLogger) Panic(msg string, tags ...tag.Tag)  { l.emit(slog.LevelError, msg, tags) }
func (l serverLogger) Fatal(msg string, tags ...tag.Tag)  { l.emit(slog.LevelError, msg, tags) }
func (l serverLogger) With(tags ...tag.Tag) log.Logger {
	return serverLogger{log: l.log, tags: append(l.tags[:len(l.tags):len(l.tags)], tags...), quiet: l.quiet}
}

func (l serverLogger) emit(lv slog.Level, msg string, tags []tag.Tag) {
	ctx := context.Background()
	if l.quiet.Load() || !l.log.Enabled(ctx, lv) || canceledByCaller(tags) {
		return
	}
	all := attrs(l.tags)
	l.log.LogAttrs(ctx, lv, msg, append(all, attrs(tags)...)...)
}

// canceledByCaller spots the errors the frontend logs when a client gives up
// a call, as every worker does with its long polls when it stops: they say
// nothing about the server's health. The cancellation arrives wrapped in
// service errors as text, hence the string match.
func canceledByCaller(tags []tag.Tag) bool {
	for _, t := range tags {
		if err, ok := t.Value().(error); ok && (errors.Is(err, context.Canceled) || strings.HasSuffix(err.Error(), context.Canceled.Error())) {
			return true
		}
	}
	return false
}

func attrs(tags []tag.Tag) []slog.Attr {
	out := make([]slog.Attr, len(tags))
	for i, t := range tags {
		out[i] = slog.Any(t.Key(), t.Value())
	}
	return out
}

// minLevel lets only records at or above level through to the wrapped handler.
type minLevel struct {
	slog.Handler
	level slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(as), h.level}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.level}
}
