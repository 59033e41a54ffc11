package mapper

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nikolalohinski/gonja/v2/exec"
)

type Format string

const (
	FormatJSON Format = "json"
	FormatXML  Format = "xml"
	FormatText Format = "text"
	// FormatHTML is an HTML e-mail body: values are escaped as for XML (text
	// and attribute values alike, like html/template there), the output is
	// not validated (HTML need not be well-formed XML).
	FormatHTML Format = "html"
)

// Template is one version of a stored template (ID empty for ad-hoc renders).
// Strict makes an undefined variable an error instead of an empty value.
type Template struct {
	ID      string
	Version int
	Format  Format
	Body    string
	Strict  bool
}

// Result is a render's output and its warnings (undefined reads, names of ours
// the body shadows), sorted by position, de-duplicated, at most 50 and a count.
type Result struct {
	Output   []byte
	Warnings []Warning
}

// LookupTable is one customer lookup table.
type LookupTable struct {
	Default string
	Rows    map[string]string
}

// Lookups: lookup name -> table, for the customer whose template is rendering.
type Lookups map[string]LookupTable

type Options struct {
	MaxOutputBytes int           // default 1 MiB
	Timeout        time.Duration // default 2 s
	CacheSize      int           // compiled templates kept, default 1024
}

// Engine renders templates. It holds one gonja environment (memory-only
// loading, our filters and globals) and an LRU of compiled templates; it has
// no other state, so one Engine serves every customer concurrently.
type Engine struct {
	opts Options
	env  *exec.Environment

	mu    sync.Mutex
	lru   *list.List // of *cacheEntry, most recent first
	items map[string]*list.Element
}

type cacheEntry struct {
	key string
	c   *compiled
	err *Error
}

func NewEngine(opts Options) *Engine {
	if opts.MaxOutputBytes <= 0 {
		opts.MaxOutputBytes = 1 << 20
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Second
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = 1024
	}
	maxValue := opts.MaxOutputBytes
	if maxValue < 1<<20 {
		maxValue = 1 << 20
	}
	env := newEnvironment(maxValue)
	_ = env.Filters.Register(readName, readFilter)
	return &Engine{
		opts:  opts,
		env:   env,
		lru:   list.New(),
		items: map[string]*list.Element{},
	}
}

func checkFormat(f Format) (Format, *Error) {
	switch f {
	case FormatJSON, FormatXML, FormatText, FormatHTML:
		return f, nil
	case "":
		return FormatText, nil
	}
	return "", &Error{Kind: ErrSyntax, Where: whereTemplate,
		Message: fmt.Sprintf("unknown template format %s (use json, xml or text)", quoteClip(string(f)))}
}

// Render renders t against data; for json/xml the output is validated (well-formed).
// Errors are *Error. Safe for concurrent use. Compiled templates cached by (ID, Version) (ad-hoc: by hash of body+format).
//
// A template may change the maps it is given (Jinja's {% set obj.attr = ... %}),
// so don't share one data map between concurrent renders.
func (e *Engine) Render(ctx context.Context, t Template, data map[string]any, lookups Lookups) ([]byte, error) {
	r, err := e.RenderDetailed(ctx, t, data, lookups)
	return r.Output, err
}

// RenderDetailed is Render with the warnings. A failed render still answers
// the warnings gathered before the failure.
func (e *Engine) RenderDetailed(ctx context.Context, t Template, data map[string]any, lookups Lookups) (Result, error) {
	format, ferr := checkFormat(t.Format)
	if ferr != nil {
		return Result{}, ferr
	}
	var key string
	if t.ID != "" {
		key = "id\x00" + t.ID + "\x00" + strconv.Itoa(t.Version) + "\x00" + string(format)
	} else {
		sum := sha256.Sum256([]byte(string(format) + "\x00" + t.Body))
		key = "h\x00" + hex.EncodeToString(sum[:])
	}
	c, cerr := e.cached(key, func() (*compiled, *Error) { return e.compile(t.Body, format) })
	if cerr != nil {
		return Result{}, cerr
	}
	tr := newReadTrace(c.reads, t.Strict)
	out, err := e.run(ctx, c, data, lookups, tr)
	res := Result{Warnings: c.warnings(tr, data)}
	if err != nil {
		return res, err
	}
	switch format {
	case FormatJSON:
		if verr := validateJSON(out); verr != nil {
			return res, verr
		}
	case FormatXML:
		if verr := validateXML(out); verr != nil {
			return res, verr
		}
	}
	res.Output = out
	return res, nil
}

// Check parses only (used when a template is saved): syntax errors as *Error.
func (e *Engine) Check(t Template) error {
	format, ferr := checkFormat(t.Format)
	if ferr != nil {
		return ferr
	}
	if _, err := e.compileBounded(func() (*compiled, *Error) { return e.compile(t.Body, format) }); err != nil {
		return err
	}
	return nil
}

// CheckExpression compiles a reference expression, written `order.ref` or
// `{{ order.ref }}`, and reports a syntax error as *Error with the line and
// column in the text as written. Used when a customer is saved.
func (e *Engine) CheckExpression(expr string) error {
	if _, err := e.compileExpression(expr); err != nil {
		return err
	}
	return nil
}

// Value is what an expression gave. Missing says why there is no value
// ("" when there is one): a name it read is undefined, or it is none or empty.
type Value struct {
	Text    string
	Missing string
}

// EvalExpression evaluates one expression (`orderReferenceId`,
// `body.order["ref"]`, `{{ order.ref }}`) against data, as text with
// surrounding white space trimmed. Undefined, none and empty are told apart
// from a value in Missing; a failure (syntax, a read through a missing
// parent, a runtime error) is an *Error.
func (e *Engine) EvalExpression(ctx context.Context, expr string, data map[string]any) (Value, error) {
	c, cerr := e.compileExpression(expr)
	if cerr != nil {
		return Value{}, cerr
	}
	tr := newReadTrace(c.reads, false)
	out, err := e.run(ctx, c, data, nil, tr)
	if err != nil {
		return Value{}, err
	}
	v := Value{Text: strings.TrimSpace(string(out))}
	if v.Text == "" {
		v.Missing = "it gives an empty value (none or \"\")"
		if len(tr.order) > 0 {
			v.Missing = tr.sites[tr.order[0]].desc + " is undefined"
		}
	}
	return v, nil
}

// EvalString is EvalExpression's text, "" when undefined, none or read
// through a missing parent (kept for callers that treat all of those alike).
func (e *Engine) EvalString(ctx context.Context, expr string, data map[string]any) (string, error) {
	v, err := e.EvalExpression(ctx, expr, data)
	if err != nil {
		if isNoneAccess(err) {
			return "", nil
		}
		return "", err
	}
	return v.Text, nil
}

// compileExpression compiles `x` or `{{ x }}` as a one-output template.
func (e *Engine) compileExpression(expr string) (*compiled, *Error) {
	return e.cached("expr\x00"+expr, func() (*compiled, *Error) {
		trimmed := strings.TrimSpace(expr)
		lead := strings.Index(expr, trimmed)
		source, sm := "{{"+expr+"}}", srcMap{text: expr, shift: 2}
		if strings.HasPrefix(trimmed, "{{") && strings.HasSuffix(trimmed, "}}") && len(trimmed) >= 4 {
			source, sm = trimmed, srcMap{text: expr, shift: -lead}
		}
		c, err := e.compileSource(source, sm, FormatText)
		if err != nil {
			return nil, err
		}
		if !c.single {
			return nil, &Error{Kind: ErrSyntax, Where: whereTemplate,
				Message: "the reference expression must be one expression, like order.ref or {{ order.ref }}, without {% %} or text around it"}
		}
		return c, nil
	})
}

func (e *Engine) cached(key string, build func() (*compiled, *Error)) (*compiled, *Error) {
	e.mu.Lock()
	if el, ok := e.items[key]; ok {
		e.lru.MoveToFront(el)
		ce := el.Value.(*cacheEntry)
		e.mu.Unlock()
		return ce.c, ce.err
	}
	e.mu.Unlock()

	c, err := e.compileBounded(build) // outside the lock; a rare double compile is harmless
	if err != nil && err.Kind == ErrLimit {
		return nil, err // a compile timeout may be the machine's fault: don't remember it
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	if el, ok := e.items[key]; ok {
		ce := el.Value.(*cacheEntry)
		return ce.c, ce.err
	}
	e.items[key] = e.lru.PushFront(&cacheEntry{key: key, c: c, err: err})
	for e.lru.Len() > e.opts.CacheSize {
		last := e.lru.Back()
		e.lru.Remove(last)
		delete(e.items, last.Value.(*cacheEntry).key)
	}
	return c, err
}

// compileBounded runs build under the render timeout: gonja's parser is
// outside our sandbox, and a template that makes it spin must not hang the
// caller (the abandoned goroutine is the price).
func (e *Engine) compileBounded(build func() (*compiled, *Error)) (*compiled, *Error) {
	type result struct {
		c   *compiled
		err *Error
	}
	done := make(chan result, 1)
	go func() {
		c, err := build()
		done <- result{c, err}
	}()
	timer := time.NewTimer(e.opts.Timeout)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.c, r.err
	case <-timer.C:
		return nil, &Error{Kind: ErrLimit, Where: whereTemplate,
			Message: fmt.Sprintf("the template took longer than %s to compile", e.opts.Timeout)}
	}
}

// run executes a compiled template in its own goroutine so that Render can
// return at the deadline even if gonja is busy; the guards stop the goroutine
// at its next tag or loop iteration once st.stop is set.
func (e *Engine) run(ctx context.Context, c *compiled, data map[string]any, lookups Lookups, tr *readTrace) ([]byte, *Error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return nil, cancelled(err)
	}
	st := newRenderState(e.opts.MaxOutputBytes, lookups)
	st.trace = tr
	w := &outWriter{st: st}
	vars := make(map[string]any, len(data)+1)
	memo := newDictMemo()
	for k, v := range data {
		vars[k] = templateValue(v, memo) // ordered.go: a body's objects as dicts in its key order
	}
	vars[stateKey] = st

	done := make(chan error, 1)
	liveRenders.Add(1)
	go func() {
		err := func() (err error) {
			defer func() {
				if p := recover(); p != nil {
					err = &tplErr{kind: ErrRuntime, msg: panicMessage(p), pos: st.cur}
				}
			}()
			return c.tpl.Execute(w, exec.NewContext(vars))
		}()
		liveRenders.Add(-1) // before the answer: when Render has it, the render is over
		done <- err
	}()

	timer := time.NewTimer(e.opts.Timeout)
	defer timer.Stop()
	select {
	case err := <-done:
		if err != nil {
			return nil, c.renderError(err, st)
		}
		return w.buf.Bytes(), nil
	case <-timer.C:
		st.halt(done, haltGrace)
		tr.abandon()
		return nil, &Error{Kind: ErrLimit, Where: whereTemplate,
			Message: fmt.Sprintf("rendering took longer than %s", e.opts.Timeout)}
	case <-ctx.Done():
		st.halt(done, haltGrace)
		tr.abandon()
		return nil, cancelled(ctx.Err())
	}
}

// cancelled reports a render ended by the caller's context. It is an *Error
// like every other, but errors.Is(err, context.Canceled/DeadlineExceeded)
// tells callers it was not the template's fault and may be retried.
func cancelled(cause error) *Error {
	return &Error{Kind: ErrLimit, Where: whereTemplate, Message: "rendering was cancelled: " + cause.Error(), cause: cause}
}

func panicMessage(p any) string {
	if err, ok := p.(runtime.Error); ok && strings.Contains(err.Error(), "divide by zero") {
		return "division by zero"
	}
	return "the template engine failed on this template (an operation on a value of the wrong type?)"
}

// renderError turns whatever gonja returned into an *Error located at the
// most precise place known: our own error's position, else the innermost tag
// the error passed through.
func (c *compiled) renderError(err error, st *renderState) *Error {
	pos := st.errPos
	if pos < 0 {
		pos = st.cur
	}
	if te, ok := parseTplErr(err.Error()); ok {
		if te.kind == ErrLimit && te.msg == errStopped.msg {
			te.msg = "rendering was stopped"
		}
		if te.pos >= 0 {
			pos = te.pos
		}
		return c.src.errorAt(te.kind, te.msg, pos)
	}
	return c.src.errorAt(ErrRuntime, runtimeMessage(err), pos)
}

// runtimeMessage picks gonja's innermost message, which names the actual
// problem, and rewords the few that read like Go.
func runtimeMessage(err error) string {
	msg := err.Error()
	for x := err; x != nil; x = unwrapOnce(x) {
		if m := x.Error(); m != "" {
			msg = m
		}
	}
	if strings.Contains(msg, errNoLoad.Error()) {
		return errNoLoad.Error()
	}
	replacements := []struct{ old, new string }{
		{"Can't use getattr on None", "cannot read an attribute of none (undefined value)"},
		{"Can't use Getitem on None", "cannot read an item of none (undefined value)"},
		{"is not callable", "is not a function (undefined name?)"},
	}
	for _, r := range replacements {
		msg = strings.ReplaceAll(msg, r.old, r.new)
	}
	if strings.Contains(msg, "map[") || strings.Contains(msg, "0x") || strings.Contains(msg, "reflect") {
		return "invalid call (wrong number or type of arguments)"
	}
	return clip(msg, 300)
}

func isNoneAccess(err error) bool {
	e, ok := err.(*Error)
	return ok && e.Kind == ErrRuntime && (strings.Contains(e.Message, "of none (undefined value)") ||
		strings.HasPrefix(e.Message, "cannot read "))
}
