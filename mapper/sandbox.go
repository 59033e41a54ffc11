package mapper

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	controlStructures "github.com/nikolalohinski/gonja/v2/builtins/control_structures"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

// Sandbox limits. gonja cannot be interrupted from outside, so every tag and
// every loop iteration passes through a check; these numbers bound what a
// template can do between two checks and in total.
const (
	maxSteps      = 500_000 // tags + loop iterations (+ range items) per render; a 1 MiB order has < 25k items
	maxDepth      = 200     // nested tags, i.e. macro / loop recursion depth
	maxRangeItems = 100_000 // range() length
	maxListItems  = 100_000 // list built by + or *
	budgetFactor  = 16      // bytes a render may allocate, as a multiple of the largest string (max(MaxOutputBytes, 1 MiB))
)

// tplErr is an error raised by our own code during a render; it carries its
// kind and, when known, the offset in the parsed source.
type tplErr struct {
	kind ErrorKind
	msg  string
	pos  int // -1 when unknown
}

// Error encodes kind and position between control characters so they survive
// gonja, which often flattens errors into strings (fmt.Errorf("%s", err)) and
// so breaks errors.As; renderError finds them again with parseTplErr.
func (e *tplErr) Error() string {
	return "\x1e" + string(e.kind) + "|" + strconv.Itoa(e.pos) + "|" + e.msg + "\x1f"
}

// parseTplErr finds the first tplErr encoded in a (possibly flattened) message.
func parseTplErr(s string) (*tplErr, bool) {
	i := strings.IndexByte(s, '\x1e')
	if i < 0 {
		return nil, false
	}
	j := strings.IndexByte(s[i:], '\x1f')
	if j < 0 {
		return nil, false
	}
	parts := strings.SplitN(s[i+1:i+j], "|", 3)
	if len(parts) != 3 {
		return nil, false
	}
	pos, err := strconv.Atoi(parts[1])
	if err != nil {
		return nil, false
	}
	return &tplErr{kind: ErrorKind(parts[0]), pos: pos, msg: parts[2]}, true
}

func newTplErr(kind ErrorKind, format string, args ...any) *tplErr {
	return &tplErr{kind: kind, msg: fmt.Sprintf(format, args...), pos: -1}
}

var errStopped = &tplErr{kind: ErrLimit, msg: "stopped", pos: -1}

// renderState is private to one render; templates reach it through the render
// context (stateKey) or through the top-level writer.
type renderState struct {
	lookups  Lookups
	trace    *readTrace
	maxOut   int // MaxOutputBytes
	maxValue int // largest single string a template may build
	budget   int // bytes left to allocate
	stop     atomic.Bool
	steps    int
	depth    int
	cur      int             // offset of the innermost tag being executed (for panics)
	errPos   int             // offset of the innermost tag an error came through, -1 until then
	weights  map[memoKey]int // weights of big lists and maps already weighed (budget.go)
}

// liveRenders counts render goroutines still running, abandoned or not
// (tests check that an abandoned render really stops).
var liveRenders atomic.Int64

// halt stops an abandoned render and waits up to grace for its goroutine to
// notice (every tag, loop iteration and long filter checks st.stop), so that
// when Render returns nothing of that render runs on.
func (st *renderState) halt(done <-chan error, grace time.Duration) {
	st.stop.Store(true)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// haltGrace is how long Render waits for an abandoned render to stop; it
// normally stops within milliseconds (the next tag, item or filter call), and
// on a starved machine Render answers anyway rather than hold the caller.
const haltGrace = 200 * time.Millisecond

func newRenderState(maxOut int, lookups Lookups) *renderState {
	maxValue := maxOut
	if maxValue < 1<<20 {
		maxValue = 1 << 20
	}
	return &renderState{lookups: lookups, maxOut: maxOut, maxValue: maxValue,
		budget: budgetFactor * maxValue, cur: -1, errPos: -1}
}

// charge takes n bytes from the render's allocation budget.
func (st *renderState) charge(n int) error {
	st.budget -= n
	if st.budget < 0 {
		return newTplErr(ErrLimit, "the template builds too much text (more than %d bytes in total)", budgetFactor*st.maxValue)
	}
	return nil
}

func (st *renderState) checkString(n int) error {
	if n > st.maxValue {
		return newTplErr(ErrLimit, "a value of %d bytes is larger than the limit of %d bytes", n, st.maxValue)
	}
	return st.charge(n)
}

func (st *renderState) step() error {
	if st.stop.Load() {
		return errStopped
	}
	st.steps++
	if st.steps > maxSteps {
		return newTplErr(ErrLimit, "the template runs more than %d steps (loops too long?)", maxSteps)
	}
	return nil
}

func (st *renderState) enter(pos int) (prev int, err error) {
	if err := st.step(); err != nil {
		return st.cur, err
	}
	st.depth++
	if st.depth > maxDepth {
		st.depth--
		err := newTplErr(ErrLimit, "tags are nested more than %d deep (endless macro recursion?)", maxDepth)
		err.pos = pos
		return st.cur, err
	}
	prev, st.cur = st.cur, pos
	return prev, nil
}

func (st *renderState) leave(prev, pos int, err error) {
	st.depth--
	st.cur = prev
	if err != nil && st.errPos < 0 && !isLoopControl(err) {
		st.errPos = pos
	}
}

// checkBuffer bounds buffers gonja renders into on its own (macro calls,
// {% set %} blocks, caller()), which our top-level writer never sees.
func (st *renderState) checkBuffer(w io.Writer) error {
	if l, ok := w.(interface{ Len() int }); ok && l.Len() > st.maxOut {
		return outputTooLarge(st.maxOut)
	}
	return nil
}

func outputTooLarge(max int) error {
	return newTplErr(ErrLimit, "the output is larger than %d bytes", max)
}

func stateOf(r *exec.Renderer) *renderState {
	if w, ok := r.Output.(*outWriter); ok {
		return w.st
	}
	return stateOfContext(r.Environment.Context)
}

func stateOfContext(c *exec.Context) *renderState {
	v, _ := c.Get(stateKey)
	st, _ := v.(*renderState)
	return st
}

var errNoState = errors.New("internal error: render state missing")

// outWriter is the render's top-level output: it enforces MaxOutputBytes and
// stops writing once the render was abandoned.
type outWriter struct {
	buf bytes.Buffer
	st  *renderState
}

func (w *outWriter) Write(p []byte) (int, error) {
	if w.st.stop.Load() {
		return 0, errStopped
	}
	if w.buf.Len()+len(p) > w.st.maxOut {
		return 0, outputTooLarge(w.st.maxOut)
	}
	return w.buf.Write(p)
}

func (w *outWriter) WriteString(s string) (int, error) {
	if w.st.stop.Load() {
		return 0, errStopped
	}
	if w.buf.Len()+len(s) > w.st.maxOut {
		return 0, outputTooLarge(w.st.maxOut)
	}
	return w.buf.WriteString(s)
}

func isLoopControl(err error) bool {
	for err != nil {
		switch err.(type) {
		case *controlStructures.LoopBreakError, *controlStructures.LoopContinueError:
			return true
		}
		err = unwrapOnce(err)
	}
	return false
}

// unwrapOnce follows fmt/pkg-errors wrapping and gonja's habit of wrapping a
// *exec.Value that holds an error.
func unwrapOnce(err error) error {
	if v, ok := err.(*exec.Value); ok {
		if v.IsError() {
			inner, _ := v.Interface().(error)
			if inner != err {
				return inner
			}
		}
		return nil
	}
	if u, ok := err.(interface{ Unwrap() error }); ok {
		return u.Unwrap()
	}
	if c, ok := err.(interface{ Cause() error }); ok {
		return c.Cause()
	}
	return nil
}

func tokenOr(t *tokens.Token) *tokens.Token {
	if t == nil {
		return &tokens.Token{}
	}
	return t
}

// outputTag replaces a {{ }}: it evaluates the expression itself and writes it
// the way the template's format needs (see formatValue).
type outputTag struct {
	out  *nodes.Output
	mode outMode
	pos  int
}

func (g *outputTag) Position() *tokens.Token { return tokenOr(g.out.Start) }
func (g *outputTag) String() string          { return "output" }

func (g *outputTag) Execute(r *exec.Renderer, _ *nodes.ControlStructureBlock) error {
	st := stateOf(r)
	if st == nil {
		return errNoState
	}
	prev, err := st.enter(g.pos)
	if err == nil {
		err = g.write(r, st)
	}
	st.leave(prev, g.pos, err)
	return err
}

func (g *outputTag) write(r *exec.Renderer, st *renderState) error {
	n := g.out
	var v *exec.Value
	if n.Condition != nil {
		c := r.Eval(n.Condition)
		if c.IsError() {
			return c
		}
		switch {
		case c.IsTrue():
			v = r.Eval(n.Expression)
		case n.Alternative != nil:
			v = r.Eval(n.Alternative)
		default:
			return nil
		}
	} else {
		v = r.Eval(n.Expression)
	}
	if v.IsError() {
		return v
	}
	if !v.IsString() {
		// Weigh before formatValue builds the text: a list of references to
		// one big string is small in memory and huge when written.
		if err := st.checkWeight(v, st.maxOut, "the value"); err != nil {
			return err
		}
	}
	s, err := formatValue(v, g.mode)
	if err != nil {
		return err
	}
	if _, ok := r.Output.(*outWriter); !ok {
		if err := st.checkString(len(s)); err != nil {
			return err
		}
	}
	if _, err := io.WriteString(r.Output, s); err != nil {
		return err
	}
	return st.checkBuffer(r.Output)
}

// blockTag wraps a {% %} tag: step count, nesting depth and error position.
type blockTag struct {
	inner *nodes.ControlStructureBlock
	pos   int
}

func (g *blockTag) Position() *tokens.Token { return tokenOr(g.inner.Location) }
func (g *blockTag) String() string          { return g.inner.Name }

func (g *blockTag) Execute(r *exec.Renderer, _ *nodes.ControlStructureBlock) error {
	st := stateOf(r)
	if st == nil {
		return errNoState
	}
	prev, err := st.enter(g.pos)
	if err == nil {
		_, err = r.Visit(g.inner)
	}
	if err == nil && g.inner.Name == "set" {
		err = st.afterSet(r, g.inner.ControlStructure)
	}
	st.leave(prev, g.pos, err)
	return err
}

// bodyTag runs the nodes of one body (loop iteration, if branch, macro call,
// {% set %} block...). It counts a step per run so that loops with no tags in
// them still meet a check, and charges what a fresh buffer received (macro
// results and captured blocks) to the render's budget.
type bodyTag struct {
	loc   *tokens.Token
	nodes []nodes.Node
}

func (g *bodyTag) Position() *tokens.Token { return tokenOr(g.loc) }
func (g *bodyTag) String() string          { return "body" }

func (g *bodyTag) Execute(r *exec.Renderer, _ *nodes.ControlStructureBlock) error {
	st := stateOf(r)
	if st == nil {
		return errNoState
	}
	if err := st.step(); err != nil {
		return err
	}
	if err := st.checkBuffer(r.Output); err != nil {
		return err
	}
	l, fresh := r.Output.(interface{ Len() int })
	fresh = fresh && l.Len() == 0
	for _, n := range g.nodes {
		if err := nodes.Walk(r, n); err != nil {
			return err
		}
	}
	if fresh {
		if err := st.charge(l.Len()); err != nil {
			return err
		}
		return st.checkBuffer(r.Output)
	}
	return nil
}
