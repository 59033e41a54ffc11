package mapper

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"

	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

// Undefined reads. gonja turns a missing variable, attribute or item into
// none without a word, so a typo prints an empty value. The rewriter routes
// every read (`x`, `x.y`, `x[k]`) through readFunc, which does what gonja's
// evaluator does and also notices a miss: a warning, or in a strict template
// an error naming the read with its position.

const (
	readName    = "\x00read"   // the read function's global name (unspellable, like binop)
	shadowedKey = "\x00shadow" // context key: names of ours the body shadows ([]string)
	maxWarnings = 50           // warnings kept per render; the rest are counted
)

type readKind uint8

const (
	readVar   readKind = iota + 1 // x
	readAttr                      // x.y
	readIndex                     // x.0
	readItem                      // x[k]
)

// readSite is one read written in the template.
type readSite struct {
	kind  readKind
	pos   int    // parsed-source offset of the start of the read (the leftmost name)
	quiet bool   // the operand of `| default` or `is defined`: a miss is expected there
	desc  string // the read as written, e.g. customer.firstNme
	name  string // readVar: the name; readAttr: the attribute
	index int    // readIndex
}

// Warning is something a render did that probably is not what its author
// meant, located in the template (Line 0: not at one place in it).
type Warning struct {
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

// readTrace is one render's view of its reads; renderState.trace points here.
type readTrace struct {
	sites  []readSite
	strict bool
	missed map[int]bool // site ids already reported
	order  []int        // site ids in the order they missed

	// abandoned: the render goroutine may still run and write missed/order,
	// so the caller must not read them (set and read by the caller only).
	abandoned bool
}

func (tr *readTrace) abandon() {
	if tr != nil {
		tr.abandoned = true
	}
}

func newReadTrace(sites []readSite, strict bool) *readTrace {
	return &readTrace{sites: sites, strict: strict, missed: map[int]bool{}}
}

// miss handles an undefined read: none in lenient templates (noted for a
// warning), an error in strict ones.
func (tr *readTrace) miss(id int) *exec.Value {
	s := tr.sites[id]
	if s.quiet {
		return exec.AsValue(nil)
	}
	if tr.strict {
		return errValue(&tplErr{kind: ErrRuntime, pos: s.pos,
			msg: fmt.Sprintf("%s is undefined (the template is strict: every variable it reads must exist)", s.desc)})
	}
	if !tr.missed[id] {
		tr.missed[id] = true
		tr.order = append(tr.order, id)
	}
	return exec.AsValue(nil)
}

// readFunc is called as \x00read(site, [parent, [key]]) in place of a read.
func readFunc(e *exec.Evaluator, params *exec.VarArgs) *exec.Value {
	st := renderStateOf(e)
	if st == nil || st.trace == nil || len(params.Args) == 0 {
		return errValue(errNoState)
	}
	tr := st.trace
	id := params.Args[0].Integer()
	if id < 0 || id >= len(tr.sites) {
		return errValue(newTplErr(ErrRuntime, "internal error: bad read"))
	}
	s := tr.sites[id]
	if s.kind == readVar {
		if v, ok := e.Environment.Context.Get(s.name); ok {
			return exec.ToValue(v)
		}
		return tr.miss(id)
	}
	if len(params.Args) < 2 {
		return errValue(newTplErr(ErrRuntime, "internal error: bad read"))
	}
	parent := params.Args[1]
	if parent.IsNil() {
		return errValue(&tplErr{kind: ErrRuntime, pos: s.pos,
			msg: fmt.Sprintf("cannot read %s: %s is none or undefined", s.desc, parentDesc(s.desc))})
	}
	var v *exec.Value
	found := false
	switch s.kind {
	case readAttr:
		if v, found = parent.GetAttribute(s.name); !found {
			v, found = parent.GetItem(s.name)
		}
	case readIndex:
		v, found = parent.GetItem(s.index)
	case readItem:
		if len(params.Args) < 3 {
			return errValue(newTplErr(ErrRuntime, "internal error: bad read"))
		}
		arg := params.Args[2]
		var key any
		switch {
		case arg.IsString():
			key = arg.String()
		case arg.IsInteger():
			key = arg.Integer()
		default:
			return errValue(&tplErr{kind: ErrRuntime, pos: s.pos,
				msg: fmt.Sprintf("cannot read %s: the key is %s, not a string or an integer", s.desc, typeName(arg))})
		}
		if v, found = parent.GetItem(key); !found && arg.IsString() {
			v, found = parent.GetAttribute(arg.String())
		}
	}
	if found {
		return v
	}
	if v != nil && v.IsError() {
		return v
	}
	return tr.miss(id)
}

// parentDesc is "a.b" for "a.b.c" and "a.b" for `a.b["c"]`.
func parentDesc(desc string) string {
	depth := 0
	for i := len(desc) - 1; i > 0; i-- {
		switch desc[i] {
		case ']':
			depth++
		case '[':
			depth--
			if depth == 0 {
				return desc[:i]
			}
		case '.':
			if depth == 0 {
				return desc[:i]
			}
		}
	}
	return desc
}

// ---- the rewrite

// readCall returns the call that replaces n when n is a read, else nil.
func (rw *rewriter) readCall(n nodes.Node, quiet bool) *nodes.Call {
	var s readSite
	var args []nodes.Expression
	var loc *tokens.Token
	switch t := n.(type) {
	case *nodes.Name:
		if t.Name == nil || t.Name.Val == "" || t.Name.Val[0] == 0 {
			return nil // our own hidden names
		}
		loc = t.Name
		s = readSite{kind: readVar, pos: t.Name.Pos, name: t.Name.Val, desc: t.Name.Val}
	case *nodes.GetAttribute:
		if t.Node == nil {
			return nil
		}
		loc = tokenOr(t.Location)
		pos, desc := rw.describe(t.Node)
		if t.Attribute != "" {
			s = readSite{kind: readAttr, name: t.Attribute, desc: desc + "." + t.Attribute}
		} else {
			s = readSite{kind: readIndex, index: t.Index, desc: desc + "." + strconv.Itoa(t.Index)}
		}
		s.pos = pos
		args = []nodes.Expression{asExpression(t.Node)}
	case *nodes.GetItem:
		if t.Node == nil || t.Arg == nil {
			return nil
		}
		loc = tokenOr(t.Location)
		pos, desc := rw.describe(t.Node)
		key := "[…]"
		switch a := t.Arg.(type) {
		case *nodes.String:
			key = "[" + strconv.Quote(a.Val) + "]"
		case *nodes.Integer:
			key = "[" + strconv.Itoa(a.Val) + "]"
		default:
			if _, d := rw.describe(t.Arg); d != "(…)" {
				key = "[" + d + "]"
			}
		}
		s = readSite{kind: readItem, pos: pos, desc: desc + key}
		args = []nodes.Expression{asExpression(t.Node), asExpression(t.Arg)}
	default:
		return nil
	}
	for _, a := range args {
		if a == nil {
			return nil // not an expression: leave gonja's own evaluation
		}
	}
	s.quiet = quiet
	id := len(rw.reads)
	rw.reads = append(rw.reads, s)
	name := *loc
	name.Type, name.Val = tokens.Name, readName
	call := &nodes.Call{
		Location: loc,
		Func:     &nodes.Name{Name: &name},
		Args:     append([]nodes.Expression{&nodes.Integer{Location: loc, Val: id}}, args...),
		Kwargs:   map[string]nodes.Expression{},
	}
	rw.callSite[call] = id
	return call
}

func asExpression(n nodes.Node) nodes.Expression {
	e, _ := n.(nodes.Expression)
	return e
}

// describe gives where an expression starts and how to name it in a message.
func (rw *rewriter) describe(n nodes.Node) (int, string) {
	switch t := n.(type) {
	case *nodes.Call:
		if id, ok := rw.callSite[t]; ok {
			return rw.reads[id].pos, rw.reads[id].desc
		}
		if t.Func != nil {
			pos, d := rw.describe(t.Func)
			return pos, d + "()"
		}
	case *nodes.Name:
		if t.Name != nil {
			return t.Name.Pos, t.Name.Val
		}
	case *nodes.String:
		return tokenOr(t.Location).Pos, strconv.Quote(t.Val)
	case *nodes.Integer:
		return tokenOr(t.Location).Pos, strconv.Itoa(t.Val)
	}
	if n == nil {
		return -1, "(…)"
	}
	return tokenOr(safePosition(n)).Pos, "(…)"
}

// instrument replaces the read held by the interface value v (a struct
// field, slice element) with its call.
func (rw *rewriter) instrument(v reflect.Value, quiet bool) {
	if v.Kind() != reflect.Interface || v.IsNil() || !v.CanAddr() {
		return
	}
	x := accessible(v)
	n, ok := x.Interface().(nodes.Node)
	if !ok || rw.noRead[n] {
		return
	}
	if call := rw.readCall(n, quiet); call != nil && reflect.TypeOf(call).AssignableTo(v.Type()) {
		x.Set(reflect.ValueOf(call))
	}
}

// instrumentMap does the same for the values of a map[string]Expression
// (call keyword arguments, {% with %} pairs).
func (rw *rewriter) instrumentMap(v reflect.Value) {
	if v.Type().Key().Kind() != reflect.String || v.Type().Elem().Kind() != reflect.Interface || v.IsNil() {
		return
	}
	if !v.CanInterface() {
		if !v.CanAddr() {
			return
		}
		v = accessible(v)
	}
	type repl struct {
		key  string
		call *nodes.Call
	}
	var todo []repl
	it := v.MapRange()
	for it.Next() {
		n, ok := it.Value().Interface().(nodes.Node)
		if !ok || rw.noRead[n] {
			continue
		}
		if call := rw.readCall(n, false); call != nil && reflect.TypeOf(call).AssignableTo(v.Type().Elem()) {
			todo = append(todo, repl{it.Key().String(), call})
		}
	}
	for _, r := range todo {
		v.SetMapIndex(reflect.ValueOf(r.key).Convert(v.Type().Key()), reflect.ValueOf(r.call))
	}
}

// fieldRole says how the rewrite treats field i of struct value v: skip it
// (assignment targets, a call's function), or read it quietly.
func (rw *rewriter) fieldRole(v reflect.Value, i int) (skip, quiet bool) {
	f := v.Type().Field(i)
	switch f.Name {
	case "target", "Target", "targets", "Targets":
		// {% set x = ... %}: x is written, not read (its parts, as ns in ns.a, are read).
		rw.markTargets(v.Field(i))
		return false, false
	}
	if !v.CanAddr() {
		return true, false
	}
	switch n := accessible(v.Addr()).Interface().(type) {
	case *nodes.Call:
		// f() and x.method(): gonja needs the function node as written.
		return f.Name == "Func" || f.Name == "Parent", false
	case *nodes.FilteredExpression:
		return false, f.Name == "Expression" && len(n.Filters) > 0 && n.Filters[0] != nil &&
			(n.Filters[0].Name == "default" || n.Filters[0].Name == "d")
	case *nodes.TestExpression:
		return false, f.Name == "Expression" && n.Test != nil && (n.Test.Name == "defined" || n.Test.Name == "undefined")
	}
	return false, false
}

func (rw *rewriter) markTargets(v reflect.Value) {
	if v.Kind() != reflect.Interface || v.IsNil() {
		return
	}
	n, ok := accessible(v).Interface().(nodes.Node)
	if !ok {
		return
	}
	rw.noRead[n] = true
	switch t := n.(type) {
	case *nodes.Tuple:
		for _, e := range t.Val {
			rw.noRead[e] = true
		}
	case *nodes.List:
		for _, e := range t.Val {
			rw.noRead[e] = true
		}
	}
}

// ---- warnings

// warnings turns a finished render's misses, and the names of ours the body
// shadows, into sorted, de-duplicated, bounded warnings.
func (c *compiled) warnings(tr *readTrace, data map[string]any) []Warning {
	type raw struct {
		pos int
		msg string
	}
	var all []raw
	if tr != nil && !tr.abandoned {
		for _, id := range tr.order {
			s := tr.sites[id]
			all = append(all, raw{s.pos, fmt.Sprintf("%s is undefined (it printed or tested as empty)", s.desc)})
		}
	}
	if names, ok := data[shadowedKey].([]string); ok {
		for _, name := range names {
			pos, mentioned := c.firstRead(name)
			if !mentioned {
				continue // the template never says the name: nothing to mistake
			}
			msg := fmt.Sprintf("the body's %q hides orderintake.%s; use orderintake.%s to reach ours", name, name, name)
			if name == ourNamespace {
				msg = `the body's "orderintake" is hidden by ours; read it as orderintake.body.orderintake`
			}
			all = append(all, raw{pos, msg})
		}
	}
	if len(all) == 0 {
		return nil
	}
	out := make([]Warning, 0, len(all))
	for _, r := range all {
		w := Warning{Message: r.msg}
		if r.pos >= 0 {
			w.Line, w.Column = lineCol(c.src.text, c.src.toText(r.pos))
		}
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		return a.Message < b.Message
	})
	dedup := out[:1]
	for _, w := range out[1:] {
		if w != dedup[len(dedup)-1] {
			dedup = append(dedup, w)
		}
	}
	if len(dedup) > maxWarnings {
		more := len(dedup) - maxWarnings
		dedup = append(dedup[:maxWarnings:maxWarnings], Warning{Message: fmt.Sprintf("and %d more warnings", more)})
	}
	return dedup
}

// firstRead is where the template first reads the plain name.
func (c *compiled) firstRead(name string) (int, bool) {
	best := -1
	for _, s := range c.reads {
		if s.kind == readVar && s.name == name && (best < 0 || s.pos < best) {
			best = s.pos
		}
	}
	return best, best >= 0
}
