package mapper

import (
	"bytes"
	"errors"
	"reflect"

	controlStructures "github.com/nikolalohinski/gonja/v2/builtins/control_structures"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/parser"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

// forParser wraps gonja's {% for %}: Jinja2's loop.depth counts recursion
// levels of one recursive loop, not the nesting of separate loops, so an
// inner plain loop starts at depth 1 again.
func forParser(orig parser.ControlStructureParser) parser.ControlStructureParser {
	return func(p *parser.Parser, args *parser.Parser) (nodes.ControlStructure, error) {
		cs, err := orig(p, args)
		if err != nil {
			return nil, err
		}
		if f, ok := cs.(*controlStructures.ForControlStructure); ok {
			if f.Recursive {
				return &recursiveFor{inner: f}, nil
			}
			return &forTag{inner: f}, nil
		}
		return cs, nil
	}
}

type forTag struct {
	inner *controlStructures.ForControlStructure
}

func (f *forTag) Position() *tokens.Token { return f.inner.Position() }
func (f *forTag) String() string          { return f.inner.String() }

func (f *forTag) Execute(r *exec.Renderer, tag *nodes.ControlStructureBlock) error {
	sub := r.Inherit()
	// gonja derives depth from an enclosing `loop`; hide it from this loop's
	// setup (the body still sees its own loop variable).
	sub.Environment.Context.Set("loop", nil)
	return f.inner.Execute(sub, tag)
}

// callParser is {% call macro(...) %} with Jinja2's optional caller
// parameters, {% call(item) list(items) %}: caller(x) binds x to item in
// the call body. gonja's parser refused the parameter list, and its call
// lost the caller inside a loop.
func callParser(orig parser.ControlStructureParser) parser.ControlStructureParser {
	return func(p *parser.Parser, args *parser.Parser) (nodes.ControlStructure, error) {
		c := &callTag{loc: p.Current()}
		paren := args.Match(tokens.LeftParenthesis) != nil
		for paren && args.Current(tokens.RightParenthesis) == nil {
			t := args.Match(tokens.Name)
			if t == nil {
				return nil, args.Error("expected a parameter name in call(...)", args.Current())
			}
			c.params = append(c.params, t.Val)
			if args.Match(tokens.Comma) == nil {
				break
			}
		}
		if paren && args.Match(tokens.RightParenthesis) == nil {
			return nil, args.Error("expected ')' after the call parameters", args.Current())
		}
		expr, err := args.ParseExpression()
		if err != nil {
			return nil, err
		}
		call, ok := expr.(*nodes.Call)
		if !ok {
			return nil, args.Error("Expected a macro call expression after {% call %}", args.Current())
		}
		if !args.End() {
			return nil, args.Error("Malformed call-tag arguments.", args.Current())
		}
		c.call = call
		wrapper, endargs, err := p.WrapUntil("endcall")
		if err != nil {
			return nil, err
		}
		if !endargs.End() {
			return nil, endargs.Error("endcall takes no arguments", nil)
		}
		c.body = wrapper
		return c, nil
	}
}

type callTag struct {
	loc    *tokens.Token
	params []string
	call   *nodes.Call
	body   *nodes.Wrapper
}

func (c *callTag) Position() *tokens.Token { return c.loc }
func (c *callTag) String() string          { return "call" }

func (c *callTag) Execute(r *exec.Renderer, _ *nodes.ControlStructureBlock) error {
	callerFn := func(va *exec.VarArgs) *exec.Value {
		if len(va.Args) > len(c.params) {
			return errValue(newTplErr(ErrRuntime, "caller() takes %d arguments (%d given)", len(c.params), len(va.Args)))
		}
		buf := new(bytes.Buffer)
		sub := r.Inherit()
		sub.Output = buf
		for i, name := range c.params {
			var v any
			if i < len(va.Args) {
				v = va.Args[i].Interface()
			}
			if kv, ok := va.KwArgs[name]; ok {
				v = kv.Interface()
			}
			sub.Environment.Context.Set(name, v)
		}
		if err := sub.ExecuteWrapper(c.body); err != nil {
			return exec.AsValue(err)
		}
		return exec.AsSafeValue(buf.String())
	}
	// gonja's macro picks the caller up from this slot, looked up from the
	// context the macro was defined in; a {% call %} inside a loop or an if
	// runs in a child of that context, so set the slot where the render's
	// own variables live too (never higher: that context is shared).
	ctxs := []*exec.Context{r.Environment.Context}
	if root := renderRootContext(r.Environment.Context); root != nil && root != r.Environment.Context {
		ctxs = append(ctxs, root)
	}
	for _, ctx := range ctxs {
		ctx.Set(callerSlot, callerFn)
	}
	result := r.Eval(c.call)
	for _, ctx := range ctxs {
		ctx.Set(callerSlot, nil)
	}
	if result.IsError() {
		return result
	}
	_, err := r.Output.Write([]byte(result.String()))
	return err
}

// recursiveFor runs a {% for ... recursive %} loop. gonja's version gave the
// body a bare function as `loop`, so loop.index, loop.first, loop.depth...
// were all empty inside recursive loops; here `loop` is callable
// (loop(children) renders the body again one level deeper) and has every
// attribute of a Jinja2 loop.
type recursiveFor struct {
	inner *controlStructures.ForControlStructure
}

func (f *recursiveFor) Position() *tokens.Token { return f.inner.Position() }
func (f *recursiveFor) String() string          { return f.inner.String() }

func (f *recursiveFor) Execute(r *exec.Renderer, _ *nodes.ControlStructureBlock) error {
	obj := r.Eval(f.inner.ObjectEvaluator)
	if obj.IsError() {
		return obj
	}
	return f.run(r, obj, 1)
}

type loopPair struct{ key, value *exec.Value }

// bind sets the loop variables for one item, unpacking pairs for "k, v".
func (f *recursiveFor) bind(ctx *exec.Context, p loopPair) {
	ctx.Set(f.inner.Key, p.key)
	if f.inner.Value != "" && p.value != nil {
		ctx.Set(f.inner.Value, p.value)
	}
}

func (f *recursiveFor) run(r *exec.Renderer, obj *exec.Value, depth int) error {
	if depth > maxDepth {
		return newTplErr(ErrLimit, "a recursive loop goes more than %d levels deep", maxDepth)
	}
	var items []loopPair
	var err error
	obj.Iterate(func(_, _ int, key, value *exec.Value) bool {
		p := loopPair{key: key, value: value}
		if f.inner.Value != "" && value == nil && key.IsList() && key.Len() == 2 {
			p = loopPair{key: key.Index(0), value: key.Index(1)}
		}
		if f.inner.IfCondition != nil {
			sub := r.Inherit()
			f.bind(sub.Environment.Context, p)
			c := sub.Eval(f.inner.IfCondition)
			if c.IsError() {
				err = c
				return false
			}
			if !c.IsTrue() {
				return true
			}
		}
		items = append(items, p)
		return true
	}, func() {})
	if err != nil {
		return err
	}
	if len(items) == 0 {
		if f.inner.EmptyWrapper != nil {
			return r.Inherit().ExecuteWrapper(f.inner.EmptyWrapper)
		}
		return nil
	}
	st := &recLoop{items: items, depth: depth}
	var loop recLoopFn = func(va *exec.VarArgs) *exec.Value {
		if _, ok := va.KwArgs[stateKey]; ok {
			return exec.AsValue(st)
		}
		if len(va.Args) != 1 {
			return errValue(newTplErr(ErrRuntime, "loop() takes the items to loop over"))
		}
		buf := new(bytes.Buffer)
		sub := r.Inherit()
		sub.Output = buf
		if err := f.run(sub, va.Args[0], depth+1); err != nil {
			return exec.AsValue(err)
		}
		return exec.AsSafeValue(buf.String())
	}
	for i, p := range items {
		st.idx = i
		sub := r.Inherit()
		f.bind(sub.Environment.Context, p)
		sub.Environment.Context.Set("loop", loop)
		if err := sub.ExecuteWrapper(f.inner.BodyWrapper); err != nil {
			var brk *controlStructures.LoopBreakError
			var cont *controlStructures.LoopContinueError
			switch {
			case errors.As(err, &brk) || isLoopErr[*controlStructures.LoopBreakError](err):
				return nil
			case errors.As(err, &cont) || isLoopErr[*controlStructures.LoopContinueError](err):
				continue
			}
			return err
		}
	}
	return nil
}

func isLoopErr[T error](err error) bool {
	for e := err; e != nil; e = unwrapOnce(e) {
		if _, ok := e.(T); ok {
			return true
		}
	}
	return false
}

// recLoop is the state behind a recursive loop's `loop` variable.
type recLoop struct {
	items   []loopPair
	idx     int
	depth   int
	changed *exec.Value
}

// recLoopFn is `loop` in a recursive loop: a function (so loop(children)
// works) whose attributes are the loop's.
type recLoopFn func(*exec.VarArgs) *exec.Value

func (fn recLoopFn) GetAttribute(name string) (*exec.Value, bool) {
	st, _ := fn(&exec.VarArgs{KwArgs: map[string]*exec.Value{stateKey: nil}}).Interface().(*recLoop)
	if st == nil {
		return exec.AsValue(nil), false
	}
	n, i := len(st.items), st.idx
	item := func(j int) *exec.Value {
		if j < 0 || j >= n {
			return exec.AsValue(nil)
		}
		p := st.items[j]
		if p.value != nil {
			return exec.AsValue([]any{p.key.Interface(), p.value.Interface()})
		}
		return p.key
	}
	switch name {
	case "index":
		return exec.AsValue(i + 1), true
	case "index0":
		return exec.AsValue(i), true
	case "revindex":
		return exec.AsValue(n - i), true
	case "revindex0":
		return exec.AsValue(n - i - 1), true
	case "first":
		return exec.AsValue(i == 0), true
	case "last":
		return exec.AsValue(i == n-1), true
	case "length":
		return exec.AsValue(n), true
	case "depth":
		return exec.AsValue(st.depth), true
	case "depth0":
		return exec.AsValue(st.depth - 1), true
	case "previtem":
		return item(i - 1), true
	case "nextitem":
		return item(i + 1), true
	case "cycle":
		return exec.AsValue(func(va *exec.VarArgs) *exec.Value {
			if len(va.Args) == 0 {
				return errValue(newTplErr(ErrRuntime, "loop.cycle() needs at least one value"))
			}
			return va.Args[i%len(va.Args)]
		}), true
	case "changed":
		return exec.AsValue(func(va *exec.VarArgs) *exec.Value {
			vals := make([]any, len(va.Args))
			for k, a := range va.Args {
				vals[k] = a.Interface()
			}
			cur := exec.AsValue(vals)
			same := st.changed != nil && cur.EqualValueTo(st.changed)
			st.changed = cur
			return exec.AsValue(!same)
		}), true
	}
	return exec.AsValue(nil), false
}

const callerSlot = "__gonja_caller__"

// renderRootContext is the context holding this render's variables (the one
// with stateKey), found by walking up from ctx; nil if there is none.
func renderRootContext(ctx *exec.Context) *exec.Context {
	for ctx != nil {
		v := reflect.ValueOf(ctx).Elem()
		if !v.FieldByName("data").IsValid() || !v.FieldByName("parent").IsValid() {
			return nil
		}
		if data, ok := accessible(v.FieldByName("data")).Interface().(map[string]any); ok {
			if _, ok := data[stateKey]; ok {
				return ctx
			}
		}
		parent, _ := accessible(v.FieldByName("parent")).Interface().(*exec.Context)
		ctx = parent
	}
	return nil
}
