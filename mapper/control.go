package mapper

import (
	"bytes"

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
		if f, ok := cs.(*controlStructures.ForControlStructure); ok && !f.Recursive {
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
// the call body. gonja's parser refused the parameter list.
func callParser(orig parser.ControlStructureParser) parser.ControlStructureParser {
	return func(p *parser.Parser, args *parser.Parser) (nodes.ControlStructure, error) {
		if args.Current(tokens.LeftParenthesis) == nil {
			return orig(p, args)
		}
		c := &callTag{loc: p.Current()}
		args.Match(tokens.LeftParenthesis)
		for args.Current(tokens.RightParenthesis) == nil {
			t := args.Match(tokens.Name)
			if t == nil {
				return nil, args.Error("expected a parameter name in call(...)", args.Current())
			}
			c.params = append(c.params, t.Val)
			if args.Match(tokens.Comma) == nil {
				break
			}
		}
		if args.Match(tokens.RightParenthesis) == nil {
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
	// gonja's macro call picks the caller up from this slot (see its call.go).
	r.Environment.Context.Set("__gonja_caller__", callerFn)
	result := r.Eval(c.call)
	r.Environment.Context.Set("__gonja_caller__", nil)
	if result.IsError() {
		return result
	}
	_, err := r.Output.Write([]byte(result.String()))
	return err
}
