package mapper

import (
	"reflect"
	"sort"

	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

// gonja has one value for none and undefined, so `missing is none` was true
// and `nothing is defined` false. Jinja2 tells them apart. For the tests
// that ask (defined, undefined, none) on a plain path (name, name.attr,
// name["key"], name[0]), the parse tree gives the test the path in a hidden
// keyword argument, and the test looks it up in the render's context: a name
// or key that exists holds a value, none included; one that does not is
// undefined.

const (
	pathKwarg  = "\x00path"
	altsKwarg  = "\x00alts"  // defaultChain
	itemKwarg  = "\x00item"  // the tested value is an item of a list (select, reject)
	orderKwarg = "\x00order" // dict(): its keyword arguments' names as written (kwargOrder)
)

var (
	pathTests   = map[string]bool{"defined": true, "undefined": true, "none": true}
	pathFilters = map[string]bool{"default": true, "d": true, "length": true, "count": true}
)

// testPaths adds the path of the tested expression to defined/undefined/none
// tests, and of the filtered expression to a first default or length filter.
func testPaths(v reflect.Value, seen map[uintptr]bool, depth int) {
	if depth > 8*maxTreeDepth { // ~ maxTreeDepth nodes (a node is a few reflect levels): the rewriter refuses deeper trees
		return
	}
	switch v.Kind() {
	case reflect.Interface:
		if !v.IsNil() {
			testPaths(v.Elem(), seen, depth+1)
		}
	case reflect.Pointer:
		if v.IsNil() || v.Type().Elem() == typeToken || seen[v.Pointer()] {
			return
		}
		seen[v.Pointer()] = true
		if t, ok := accessible(v).Interface().(*nodes.TestExpression); ok && t.Test != nil && pathTests[t.Test.Name] {
			if path, ok := exprPath(t.Expression, t.Test.Token); ok {
				if t.Test.Kwargs == nil {
					t.Test.Kwargs = map[string]nodes.Expression{}
				}
				t.Test.Kwargs[pathKwarg] = &nodes.List{Location: t.Test.Token, Val: path}
			}
		}
		if b, ok := accessible(v).Interface().(*nodes.BinaryExpression); ok {
			noneComparison(b)
		}
		if c, ok := accessible(v).Interface().(*nodes.Call); ok {
			kwargOrder(c)
		}
		if f, ok := accessible(v).Interface().(*nodes.FilteredExpression); ok && len(f.Filters) > 0 {
			if fc := f.Filters[0]; fc != nil && pathFilters[fc.Name] {
				if path, ok := exprPath(f.Expression, fc.Token); ok {
					if fc.Kwargs == nil {
						fc.Kwargs = map[string]nodes.Expression{}
					}
					fc.Kwargs[pathKwarg] = &nodes.List{Location: fc.Token, Val: path}
				}
			}
			defaultChain(f)
		}
		if v.Elem().Kind() == reflect.Struct {
			testPaths(v.Elem(), seen, depth+1)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			testPaths(v.Field(i), seen, depth+1)
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			testPaths(v.Index(i), seen, depth+1)
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			testPaths(it.Value(), seen, depth+1)
		}
	}
}

// defaultChain gives a default that follows a default (`a | default(b) |
// default(c)`) what decides whether its input is defined: the first
// default's result is a (when a exists, none included) or else b, so it is
// defined when a's path exists, or b's, or b is the literal none. The
// alternatives go in a hidden keyword argument (altsKwarg): a list whose
// items are paths, or true for "always defined".
func defaultChain(f *nodes.FilteredExpression) {
	var alts []nodes.Expression // of the value entering filter i
	if len(f.Filters) > 0 && f.Filters[0] != nil {
		if path, ok := exprPath(f.Expression, f.Filters[0].Token); ok {
			alts = append(alts, &nodes.List{Location: f.Filters[0].Token, Val: path})
		}
	}
	for i := 1; i < len(f.Filters); i++ {
		prev, fc := f.Filters[i-1], f.Filters[i]
		if prev == nil || fc == nil || (prev.Name != "default" && prev.Name != "d") || booleanDefault(prev) {
			alts = nil
			continue
		}
		arg, ok := prev.Kwargs["default_value"]
		if !ok && len(prev.Args) > 0 {
			arg = prev.Args[0]
		}
		switch {
		case arg == nil:
			alts = append(alts, &nodes.Bool{Location: fc.Token, Val: true}) // default() gives ""
		case isNoneLiteral(arg):
			alts = append(alts, &nodes.Bool{Location: fc.Token, Val: true})
		default:
			if path, ok := exprPath(arg, fc.Token); ok {
				alts = append(alts, &nodes.List{Location: fc.Token, Val: path})
			}
		}
		if fc.Name == "default" || fc.Name == "d" {
			if fc.Kwargs == nil {
				fc.Kwargs = map[string]nodes.Expression{}
			}
			fc.Kwargs[altsKwarg] = &nodes.List{Location: fc.Token, Val: append([]nodes.Expression(nil), alts...)}
		}
	}
}

// booleanDefault: default(x, true) replaces every false value, so what comes
// out of it says nothing about what went in.
func booleanDefault(fc *nodes.FilterCall) bool {
	if b, ok := fc.Kwargs["boolean"]; ok {
		return !isFalseLiteral(b)
	}
	return len(fc.Args) > 1 && !isFalseLiteral(fc.Args[1])
}

func isFalseLiteral(e nodes.Expression) bool {
	b, ok := e.(*nodes.Bool)
	return ok && !b.Val
}

// kwargOrder gives dict(...) the order its keyword arguments were written in
// (gonja keeps them in a Go map): a hidden keyword argument listing the names.
func kwargOrder(c *nodes.Call) {
	n, ok := c.Func.(*nodes.Name)
	if !ok || n.Name == nil || n.Name.Val != "dict" || len(c.Kwargs) == 0 {
		return
	}
	type kw struct {
		name string
		pos  int
	}
	var kws []kw
	for name, e := range c.Kwargs {
		if name == orderKwarg {
			return
		}
		pos := -1
		if t := safePosition(e); t != nil {
			pos = t.Pos
		}
		kws = append(kws, kw{name, pos})
	}
	sort.Slice(kws, func(i, j int) bool {
		if kws[i].pos != kws[j].pos {
			return kws[i].pos < kws[j].pos
		}
		return kws[i].name < kws[j].name
	})
	names := make([]nodes.Expression, len(kws))
	for i, k := range kws {
		names[i] = &nodes.String{Location: n.Name, Val: k.name}
	}
	c.Kwargs[orderKwarg] = &nodes.List{Location: n.Name, Val: names}
}

// noneComparison turns `path == none` (or `none == path`, and !=) into
// `path is none` in place: in Jinja2 an undefined name is not equal to none.
func noneComparison(b *nodes.BinaryExpression) {
	if b.Operator == nil || b.Operator.Token == nil {
		return
	}
	op := b.Operator.Token
	if op.Type != tokens.Equals && op.Type != tokens.Ne {
		return
	}
	subject := b.Left
	if isNoneLiteral(subject) {
		subject = b.Right
	} else if !isNoneLiteral(b.Right) {
		return
	}
	if _, ok := exprPath(subject, op); !ok {
		return
	}
	var test nodes.Expression = &nodes.TestExpression{Expression: subject,
		Test: &nodes.TestCall{Token: op, Name: "none", Args: []nodes.Expression{}, Kwargs: map[string]nodes.Expression{}}}
	if op.Type == tokens.Ne {
		test = &nodes.Negation{Term: test, Operator: op}
	}
	and := *op
	and.Type, and.Val = tokens.And, "and"
	b.Left = &nodes.Bool{Location: op, Val: true}
	b.Right = test
	b.Operator = &nodes.BinOperator{Token: &and}
}

// isNoneLiteral: gonja's parser reads `None` as a literal but lowercase
// `none` as a name (that no context defines).
func isNoneLiteral(e nodes.Expression) bool {
	switch n := e.(type) {
	case *nodes.None:
		return true
	case *nodes.Name:
		return n.Name != nil && (n.Name.Val == "none" || n.Name.Val == "None")
	}
	return false
}

// exprPath spells a name/attribute/item chain as constants: "n:name",
// "a:attr", "k:key", or an integer index. ok is false for anything else.
func exprPath(e nodes.Node, at *tokens.Token) ([]nodes.Expression, bool) {
	return exprPathN(e, at, 0)
}

func exprPathN(e nodes.Node, at *tokens.Token, depth int) ([]nodes.Expression, bool) {
	if depth > 64 {
		return nil, false
	}
	str := func(s string) nodes.Expression { return &nodes.String{Location: at, Val: s} }
	switch n := e.(type) {
	case *nodes.Name:
		if n.Name == nil {
			return nil, false
		}
		switch n.Name.Val {
		case "true", "True", "false", "False", "none", "None", "nil":
			return nil, false
		}
		return []nodes.Expression{str("n:" + n.Name.Val)}, true
	case *nodes.GetAttribute:
		p, ok := exprPathN(n.Node, at, depth+1)
		if !ok {
			return nil, false
		}
		if n.Attribute == "" {
			return append(p, &nodes.Integer{Location: at, Val: n.Index}), true
		}
		return append(p, str("a:"+n.Attribute)), true
	case *nodes.GetItem:
		p, ok := exprPathN(n.Node, at, depth+1)
		if !ok {
			return nil, false
		}
		switch k := n.Arg.(type) {
		case *nodes.String:
			return append(p, str("k:"+k.Val)), true
		case *nodes.Integer:
			return append(p, &nodes.Integer{Location: at, Val: k.Val}), true
		}
	}
	return nil, false
}

// lookupPath reports whether the path names something that exists.
func lookupPath(ctx *exec.Context, path *exec.Value) bool {
	var segs []*exec.Value
	path.Iterate(func(_, _ int, item, _ *exec.Value) bool {
		segs = append(segs, item)
		return true
	}, func() {})
	if len(segs) == 0 || !segs[0].IsString() || len(segs[0].String()) < 2 {
		return false
	}
	raw, ok := ctx.Get(segs[0].String()[2:])
	if !ok {
		return false
	}
	v := exec.ToValue(raw)
	for _, s := range segs[1:] {
		if v.IsNil() || v.IsError() {
			return false
		}
		var next *exec.Value
		found := false
		if s.IsInteger() {
			next, found = v.GetItem(s.Integer())
		} else {
			key := s.String()[2:]
			next, found = v.GetItem(key)
			if !found {
				next, found = v.GetAttribute(key)
			}
		}
		if !found || next == nil || next.IsError() {
			return false
		}
		if next.IsNil() && !s.IsInteger() && !v.IsDict() && (s.String() == "a:previtem" || s.String() == "a:nextitem") {
			return false // Jinja2: loop.previtem on the first item is undefined, not none
		}
		v = next
	}
	return true
}

// definedness answers whether the tested value is defined: from its path
// when the parse tree gave one; an item of a list (select('defined')) is;
// after a default, from what that default had (defaultChain); else (a
// computed value: a filter's result) whether it is not none, as gonja always
// answered.
func definedness(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) bool {
	if in.IsError() {
		return false
	}
	if !in.IsNil() {
		if _, ok := params.KwArgs[pathKwarg]; !ok {
			return true
		}
	}
	if _, ok := params.KwArgs[itemKwarg]; ok {
		return true
	}
	if e == nil || e.Environment == nil {
		return !in.IsNil()
	}
	if p, ok := params.KwArgs[pathKwarg]; ok {
		return lookupPath(e.Environment.Context, p)
	}
	if alts, ok := params.KwArgs[altsKwarg]; ok {
		defined := false
		alts.Iterate(func(_, _ int, alt, _ *exec.Value) bool {
			defined = alt.IsBool() && alt.IsTrue() || alt.IsList() && lookupPath(e.Environment.Context, alt)
			return !defined
		}, func() {})
		return defined
	}
	return false
}

func undefinedTests() map[string]exec.TestFunction {
	return map[string]exec.TestFunction{
		"defined": func(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) (bool, error) {
			return definedness(e, in, params), nil
		},
		"undefined": func(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) (bool, error) {
			return !definedness(e, in, params), nil
		},
		"none": func(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) (bool, error) {
			if _, ok := params.KwArgs[pathKwarg]; !ok {
				return in.IsNil(), nil // a computed value (select('none'), a filter's result) is none or not
			}
			return in.IsNil() && definedness(e, in, params), nil
		},
	}
}

// filterDefault is Jinja2's default(value=”, boolean=False): it replaces an
// undefined value (none stays none, as in Jinja2, when the path says the
// name exists), or with boolean=True any false value.
func filterDefault(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	def := exec.AsValue("")
	if v, ok := argOrKw(params, 0, "default_value"); ok {
		def = v
	}
	boolean := false
	if v, ok := argOrKw(params, 1, "boolean"); ok {
		boolean = v.IsTrue()
	}
	if in.IsError() {
		return def
	}
	if boolean {
		if !in.IsTrue() {
			return def
		}
		return in
	}
	if !definedness(e, in, params) {
		return def
	}
	return in
}
