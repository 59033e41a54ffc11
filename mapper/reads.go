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
// none without a word, so a typo prints an empty value. The rewriter replaces
// every read chain (`x`, `x.y`, `x.y[k].z`) with one call of a hidden filter,
// readFilter, which walks the chain as gonja's evaluator does and also
// notices a miss: a warning, or in a strict template an error naming the
// read with its position. One filter call per chain (not a function call
// per step) keeps the cost near gonja's own evaluation.

const (
	readName    = "\x00read"   // the read filter's name (unspellable, like binop)
	shadowedKey = "\x00shadow" // context key: names of ours the body shadows ([]string)
	maxWarnings = 50           // warnings kept per render; the rest are counted
)

type stepKind uint8

const (
	stepAttr  stepKind = iota + 1 // .y
	stepIndex                     // .0
	stepItem                      // [k]: the key is the filter's next argument
)

type readStep struct {
	kind  stepKind
	name  string
	index int
	desc  string // the chain up to and including this step, e.g. customer.firstNme
}

// readSite is one read chain written in the template.
type readSite struct {
	pos   int    // parsed-source offset of the start of the chain (the leftmost name)
	quiet bool   // the operand of `| default` or `is defined`: a miss is expected there
	root  string // the chain starts at this variable ("" : at the filtered value)
	desc  string // the whole chain as written
	steps []readStep
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

func newReadTrace(sites []readSite, strict bool) *readTrace {
	return &readTrace{sites: sites, strict: strict, missed: map[int]bool{}}
}

func (tr *readTrace) abandon() {
	if tr != nil {
		tr.abandoned = true
	}
}

// miss handles a chain whose last step is undefined: none in lenient
// templates (noted for a warning), an error in strict ones.
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

// readFilter is `root | \x00read(site, keys...)` in place of a read chain.
func readFilter(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	st := renderStateOf(e)
	if st == nil || st.trace == nil || len(params.Args) == 0 {
		return errValue(errNoState)
	}
	tr := st.trace
	id := params.Args[0].Integer()
	if id < 0 || id >= len(tr.sites) {
		return errValue(newTplErr(ErrRuntime, "internal error: bad read"))
	}
	s := &tr.sites[id]
	cur, prev, found := in, s.root, true
	if s.root != "" {
		var v any
		if v, found = e.Environment.Context.Get(s.root); found {
			cur = exec.ToValue(v)
		} else if len(s.steps) == 0 {
			return tr.miss(id)
		} else {
			cur = exec.AsValue(nil)
		}
	}
	keys := params.Args[1:]
	for i := range s.steps {
		step := &s.steps[i]
		if cur.IsNil() {
			if found {
				// Jinja2: an attribute or item of none is undefined (it prints
				// empty); reading on from that undefined is an error.
				if i == len(s.steps)-1 {
					return tr.miss(id)
				}
				if step.kind == stepItem {
					keys = keys[1:]
				}
				cur, prev, found = exec.AsValue(nil), step.desc, false
				continue
			}
			if prev == "" {
				prev = "the value"
			}
			return errValue(&tplErr{kind: ErrRuntime, pos: s.pos, msg: fmt.Sprintf("cannot read %s: %s is undefined", step.desc, prev)})
		}
		var v *exec.Value
		switch step.kind {
		case stepAttr:
			if v, found = cur.GetAttribute(step.name); !found {
				v, found = cur.GetItem(step.name)
			}
		case stepIndex:
			v, found = cur.GetItem(step.index)
		case stepItem:
			if len(keys) == 0 {
				return errValue(newTplErr(ErrRuntime, "internal error: bad read"))
			}
			arg := keys[0]
			keys = keys[1:]
			var key any
			switch {
			case arg.IsString():
				key = arg.String()
			case arg.IsInteger():
				key = arg.Integer()
			default:
				return errValue(&tplErr{kind: ErrRuntime, pos: s.pos,
					msg: fmt.Sprintf("cannot read %s: the key is %s, not a string or an integer", step.desc, typeName(arg))})
			}
			if v, found = cur.GetItem(key); !found && arg.IsString() {
				v, found = cur.GetAttribute(arg.String())
			}
		}
		if !found {
			if v != nil && v.IsError() {
				return v
			}
			if i == len(s.steps)-1 {
				return tr.miss(id)
			}
			v = exec.AsValue(nil)
		}
		cur, prev = v, step.desc
	}
	return cur
}

// ---- the rewrite

// readCall returns the read filter that replaces the chain n, else nil.
func (rw *rewriter) readCall(n nodes.Node, quiet bool) *nodes.FilteredExpression {
	if rw.tooDeep != nil {
		return nil // refused anyway; and chains that deep would make long descriptions
	}
	switch n.(type) {
	case *nodes.Name, *nodes.GetAttribute, *nodes.GetItem:
	default:
		return nil
	}
	// Flatten the chain, outermost step first.
	var steps []readStep
	var keys []nodes.Expression
	cur := n
	var root nodes.Expression
	var rootName string
	var loc *tokens.Token
flatten:
	for {
		switch t := cur.(type) {
		case *nodes.GetAttribute:
			if t.Node == nil {
				return nil
			}
			if t.Attribute != "" {
				steps = append(steps, readStep{kind: stepAttr, name: t.Attribute})
			} else {
				steps = append(steps, readStep{kind: stepIndex, index: t.Index})
			}
			cur = t.Node
		case *nodes.GetItem:
			key := asExpression(t.Arg)
			if t.Node == nil || key == nil {
				return nil
			}
			steps = append(steps, readStep{kind: stepItem})
			keys = append(keys, key)
			cur = t.Node
		case *nodes.Name:
			if t.Name == nil || t.Name.Val == "" || t.Name.Val[0] == 0 {
				return nil // our own hidden names
			}
			rootName, loc = t.Name.Val, t.Name
			break flatten
		default:
			if root = asExpression(cur); root == nil {
				return nil
			}
			break flatten
		}
	}
	// Root first.
	for i, j := 0, len(steps)-1; i < j; i, j = i+1, j-1 {
		steps[i], steps[j] = steps[j], steps[i]
	}
	for i, j := 0, len(keys)-1; i < j; i, j = i+1, j-1 {
		keys[i], keys[j] = keys[j], keys[i]
	}
	pos, desc := -1, rootName
	if root != nil {
		pos, desc = rw.describe(root)
		loc = tokenOr(safePosition(root))
	} else {
		pos = loc.Pos
	}
	k := 0
	for i := range steps {
		switch steps[i].kind {
		case stepAttr:
			desc += "." + steps[i].name
		case stepIndex:
			desc += "." + strconv.Itoa(steps[i].index)
		case stepItem:
			desc += "[" + rw.keyDesc(keys[k]) + "]"
			k++
		}
		steps[i].desc = desc
	}
	id := len(rw.reads)
	rw.reads = append(rw.reads, readSite{pos: pos, quiet: quiet, root: rootName, desc: desc, steps: steps})
	if root == nil {
		root = &nodes.None{Location: loc}
	}
	read := &nodes.FilteredExpression{Expression: root, Filters: []*nodes.FilterCall{{
		Token: loc, Name: readName,
		Args:   append([]nodes.Expression{&nodes.Integer{Location: loc, Val: id}}, keys...),
		Kwargs: map[string]nodes.Expression{},
	}}}
	rw.readSite[read] = id
	return read
}

func (rw *rewriter) keyDesc(k nodes.Expression) string {
	switch a := k.(type) {
	case *nodes.String:
		return strconv.Quote(a.Val)
	case *nodes.Integer:
		return strconv.Itoa(a.Val)
	}
	if _, d := rw.describe(k); d != "(…)" {
		return d
	}
	return "…"
}

func asExpression(n nodes.Node) nodes.Expression {
	e, _ := n.(nodes.Expression)
	return e
}

// describe gives where an expression starts and how to name it in a message.
func (rw *rewriter) describe(n nodes.Node) (int, string) {
	switch t := n.(type) {
	case *nodes.FilteredExpression:
		if id, ok := rw.readSite[t]; ok {
			return rw.reads[id].pos, rw.reads[id].desc
		}
	case *nodes.Call:
		if t.Func != nil {
			if pos, d := rw.describe(t.Func); d != "(…)" {
				return pos, d + "()"
			}
		}
	case *nodes.GetAttribute:
		if t.Node != nil {
			pos, d := rw.describe(t.Node)
			if t.Attribute != "" {
				return pos, d + "." + t.Attribute
			}
			return pos, d + "." + strconv.Itoa(t.Index)
		}
	case *nodes.Name:
		if t.Name != nil && (t.Name.Val == "" || t.Name.Val[0] != 0) {
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

// instrument replaces the read chain held by the interface value v (a struct
// field, slice element) with its read filter.
func (rw *rewriter) instrument(v reflect.Value, quiet bool) {
	if v.Kind() != reflect.Interface || v.IsNil() || !v.CanAddr() {
		return
	}
	x := accessible(v)
	n, ok := x.Interface().(nodes.Node)
	if !ok || rw.noRead[n] {
		return
	}
	if read := rw.readCall(n, quiet); read != nil && reflect.TypeOf(read).AssignableTo(v.Type()) {
		x.Set(reflect.ValueOf(read))
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
		read *nodes.FilteredExpression
	}
	var todo []repl
	it := v.MapRange()
	for it.Next() {
		n, ok := it.Value().Interface().(nodes.Node)
		if !ok || rw.noRead[n] {
			continue
		}
		if read := rw.readCall(n, false); read != nil && reflect.TypeOf(read).AssignableTo(v.Type().Elem()) {
			todo = append(todo, repl{it.Key().String(), read})
		}
	}
	for _, r := range todo {
		v.SetMapIndex(reflect.ValueOf(r.key).Convert(v.Type().Key()), reflect.ValueOf(r.read))
	}
}

// fieldRole says how the rewrite treats field i of struct value v: skip it
// (assignment targets, a call's function, the inside of a chain), or read
// it quietly.
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
		// f() and x.method(): gonja needs the function node as written; its
		// receiver (x) is read on its own.
		if f.Name == "Func" {
			switch fn := n.Func.(type) {
			case *nodes.GetAttribute:
				rw.standalone[fn] = true
				if _, ok := fn.Node.(*nodes.Name); ok {
					// l.append(x): gonja writes the changed list back to the
					// variable only when the receiver is the name itself.
					rw.noRead[fn.Node] = true
				}
			case *nodes.GetItem:
				rw.standalone[fn] = true
			}
		}
		return f.Name == "Func" || f.Name == "Parent", false
	case *nodes.GetAttribute:
		// x inside x.y is one step of the chain that replaces x.y as a whole.
		return f.Name == "Node" && rw.chained(n), false
	case *nodes.GetItem:
		return f.Name == "Node" && rw.chained(n), false
	case *nodes.FilteredExpression:
		return false, f.Name == "Expression" && len(n.Filters) > 0 && n.Filters[0] != nil &&
			(n.Filters[0].Name == "default" || n.Filters[0].Name == "d")
	case *nodes.TestExpression:
		return false, f.Name == "Expression" && n.Test != nil && (n.Test.Name == "defined" || n.Test.Name == "undefined")
	}
	return false, false
}

// chained: the getter will be replaced as a whole (it is not a function
// being called or an assignment target).
func (rw *rewriter) chained(n nodes.Node) bool {
	return !rw.noRead[n] && !rw.standalone[n]
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
		if s.root == name && (best < 0 || s.pos < best) {
			best = s.pos
		}
	}
	return best, best >= 0
}

// methodWriteBack runs after a method changed a list or dict. A shared list
// (lists.go) or a dict changed in place: only the remembered weights go. A
// plain Go slice (a list a Go caller put in the data, a range) was rebuilt
// by append: it is stored back (ns.items.append(x)) into the mapping it was
// read from, as Jinja2's shared list would show it. The receiver is
// a read chain with a named root (readCall); its container is walked again
// and the last step set. Other receivers (a call's result) hold no place to
// write to, as in Jinja2.
func methodWriteBack(e *exec.Evaluator, receiver nodes.Node, value *exec.Value) {
	switch rawValue(value).(type) {
	case *[]any, *exec.Dict, map[string]any:
		// Changed in place (a shared list, a dict): every holder sees it,
		// and the weights remembered for its holders may be stale now.
		if st := renderStateOf(e); st != nil {
			st.weights = nil
		}
		return
	}
	f, ok := receiver.(*nodes.FilteredExpression)
	if !ok || len(f.Filters) != 1 || f.Filters[0] == nil || f.Filters[0].Name != readName || len(f.Filters[0].Args) == 0 {
		return
	}
	st := renderStateOf(e)
	idNode, ok := f.Filters[0].Args[0].(*nodes.Integer)
	if st == nil || st.trace == nil || !ok || idNode.Val < 0 || idNode.Val >= len(st.trace.sites) {
		return
	}
	s := &st.trace.sites[idNode.Val]
	if s.root == "" || len(s.steps) == 0 {
		return
	}
	raw, found := e.Environment.Context.Get(s.root)
	if !found {
		return
	}
	keyNodes := f.Filters[0].Args[1:]
	keyOf := func(step *readStep) (any, bool) {
		switch step.kind {
		case stepAttr:
			return step.name, true
		case stepIndex:
			return step.index, true
		}
		if len(keyNodes) == 0 {
			return nil, false
		}
		k := e.Eval(keyNodes[0])
		keyNodes = keyNodes[1:]
		switch {
		case k.IsString():
			return k.String(), true
		case k.IsInteger():
			return k.Integer(), true
		}
		return nil, false
	}
	cur := exec.ToValue(raw)
	last := len(s.steps) - 1
	for i := 0; i < last; i++ {
		key, ok := keyOf(&s.steps[i])
		if !ok || cur.IsNil() {
			return
		}
		next, found := cur.GetItem(key)
		if !found {
			if name, isName := key.(string); isName {
				next, found = cur.GetAttribute(name)
			}
		}
		if !found || next.IsError() {
			return
		}
		cur = next
	}
	key, ok := keyOf(&s.steps[last])
	if !ok {
		return
	}
	switch c := unwrapValue(cur).(type) {
	case map[string]any:
		if name, isName := key.(string); isName {
			c[name] = value.Interface()
		}
	case *exec.Dict:
		for _, p := range c.Pairs {
			if p.Key.Interface() == key {
				p.Value = exec.ToValue(value.Interface())
				return
			}
		}
	case []any:
		if i, isIndex := key.(int); isIndex {
			if i < 0 {
				i += len(c)
			}
			if i >= 0 && i < len(c) {
				c[i] = value.Interface()
			}
		}
	}
}
