package mapper

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrorKind classifies a template failure so callers can decide what to show.
// Every kind is permanent (the same template and input fail the same way),
// except a render cut short by the caller's context: that error also matches
// errors.Is(err, context.Canceled / context.DeadlineExceeded).
type ErrorKind string

const (
	ErrSyntax  ErrorKind = "syntax"
	ErrRuntime ErrorKind = "runtime"
	ErrLookup  ErrorKind = "lookup"
	ErrOutput  ErrorKind = "output" // rendered result is not well-formed json/xml
	ErrLimit   ErrorKind = "limit"  // output too large or render too slow
)

// Error is every failure Render, Check and EvalString report.
type Error struct {
	Kind    ErrorKind
	Message string // human sentence, no Go internals, never the whole template
	Where   string // "template" or "output"
	Line    int    // 1-based, 0 when unknown
	Column  int    // 1-based (characters, not bytes), 0 when unknown
	Excerpt string // the offending line (<= 200 chars) with a caret line under it

	cause error // context error when a render was cancelled, for errors.Is
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(string(e.Kind))
	b.WriteString(" error: ")
	b.WriteString(e.Message)
	if e.Line > 0 {
		fmt.Fprintf(&b, " (%s line %d", e.Where, e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ", column %d", e.Column)
		}
		b.WriteByte(')')
	}
	return b.String()
}

// Unwrap exposes context.Canceled / DeadlineExceeded when the caller's context
// ended the render, so callers can tell a shutdown from a bad template.
func (e *Error) Unwrap() error { return e.cause }

// InputError reports a request body that cannot be parsed.
type InputError struct {
	Message      string
	Line, Column int   // 1-based, 0 when unknown
	Offset       int64 // byte offset into the body
}

func (e *InputError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("invalid input at line %d, column %d: %s", e.Line, e.Column, e.Message)
	}
	return "invalid input: " + e.Message
}

const (
	whereTemplate = "template"
	whereOutput   = "output"
	maxExcerpt    = 200
)

// lineCol turns a byte offset into a 1-based line and character column.
func lineCol(text string, off int) (line, col int) {
	if off < 0 {
		off = 0
	}
	if off > len(text) {
		off = len(text)
	}
	start := strings.LastIndexByte(text[:off], '\n') + 1
	line = strings.Count(text[:start], "\n") + 1
	col = utf8.RuneCountInString(text[start:off]) + 1
	return line, col
}

// excerpt returns the line holding off and a caret line pointing at it; long
// lines are windowed so the excerpt never exceeds maxExcerpt characters.
func excerpt(text string, off int) string {
	if off < 0 {
		off = 0
	}
	if off > len(text) {
		off = len(text)
	}
	start := strings.LastIndexByte(text[:off], '\n') + 1
	end := strings.IndexByte(text[off:], '\n')
	if end < 0 {
		end = len(text)
	} else {
		end += off
	}
	runes := []rune(strings.TrimRight(strings.ToValidUTF8(text[start:end], "\uFFFD"), "\r"))
	caret := utf8.RuneCountInString(strings.ToValidUTF8(text[start:off], "\uFFFD"))
	from := 0
	if len(runes) > maxExcerpt {
		from = caret - maxExcerpt/2
		if from < 0 {
			from = 0
		}
		if from > len(runes)-maxExcerpt {
			from = len(runes) - maxExcerpt
		}
		runes = runes[from : from+maxExcerpt]
	}
	caret -= from
	if caret > len(runes) {
		caret = len(runes)
	}
	var pad strings.Builder
	for i := 0; i < caret; i++ {
		if runes[i] == '\t' {
			pad.WriteByte('\t') // keeps the caret aligned under tabs
		} else {
			pad.WriteByte(' ')
		}
	}
	return string(runes) + "\n" + pad.String() + "^"
}

// newPosError builds an *Error located at byte offset off of text.
func newPosError(kind ErrorKind, where, msg, text string, off int) *Error {
	line, col := lineCol(text, off)
	return &Error{Kind: kind, Message: msg, Where: where, Line: line, Column: col, Excerpt: excerpt(text, off)}
}

// clip shortens s for messages.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

func quoteClip(s string) string { return fmt.Sprintf("%q", clip(s, 40)) }
