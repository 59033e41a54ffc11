package mapper

import (
	"bytes"
	"fmt"

	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/parser"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

// setParser adds to gonja's {% set %} the two forms Jinja2 has and gonja
// lacks: tuple unpacking ({% set a, b = 1, 2 %}, {% set (a, b) = pair %})
// and a filtered block ({% set x | upper %}...{% endset %}). Every other
// form goes to gonja's own parser.
func setParser(orig parser.ControlStructureParser) parser.ControlStructureParser {
	return func(p *parser.Parser, args *parser.Parser) (nodes.ControlStructure, error) {
		name := args.Current(tokens.Name) != nil
		switch {
		case args.Current(tokens.LeftParenthesis) != nil || (name && args.Peek(tokens.Comma) != nil):
			return parseSetTuple(p, args)
		case name && args.Peek(tokens.Pipe) != nil:
			return parseSetFiltered(p, args)
		}
		return orig(p, args)
	}
}

// setTuple is {% set a, b = x, y %}: the values are unpacked into the names.
type setTuple struct {
	loc    *tokens.Token
	names  []string
	values []nodes.Expression // one iterable, or one expression per name
}

func (s *setTuple) Position() *tokens.Token { return s.loc }
func (s *setTuple) String() string          { return "set" }

func parseSetTuple(p *parser.Parser, args *parser.Parser) (nodes.ControlStructure, error) {
	s := &setTuple{loc: p.Current()}
	paren := args.Match(tokens.LeftParenthesis) != nil
	for {
		t := args.Match(tokens.Name)
		if t == nil {
			return nil, args.Error("expected a name to assign to", args.Current())
		}
		s.names = append(s.names, t.Val)
		if args.Match(tokens.Comma) == nil {
			break
		}
		if paren && args.Current(tokens.RightParenthesis) != nil {
			break
		}
	}
	if paren && args.Match(tokens.RightParenthesis) == nil {
		return nil, args.Error("expected ')'", args.Current())
	}
	if args.Match(tokens.Assign) == nil {
		return nil, args.Error("expected '=' after the names to assign", args.Current())
	}
	for {
		expr, err := args.ParseExpression()
		if err != nil {
			return nil, err
		}
		s.values = append(s.values, expr)
		if args.Match(tokens.Comma) == nil || args.End() {
			break
		}
	}
	if !args.End() {
		return nil, args.Error("malformed 'set' tag", args.Current())
	}
	return s, nil
}

func (s *setTuple) Execute(r *exec.Renderer, _ *nodes.ControlStructureBlock) error {
	var vals []*exec.Value
	for _, e := range s.values {
		v := r.Eval(e)
		if v.IsError() {
			return v
		}
		vals = append(vals, v)
	}
	if len(s.values) == 1 {
		v := vals[0]
		if !v.IsList() && !v.IsString() && !v.IsDict() {
			return newTplErr(ErrRuntime, "cannot unpack a %s into %d names", typeName(v), len(s.names))
		}
		vals = vals[:0]
		v.Iterate(func(_, _ int, item, _ *exec.Value) bool {
			vals = append(vals, item)
			return len(vals) <= len(s.names)
		}, func() {})
	}
	if len(vals) != len(s.names) {
		word := "not enough"
		if len(vals) > len(s.names) {
			word = "too many"
		}
		return newTplErr(ErrRuntime, "%s values to unpack (expected %d)", word, len(s.names))
	}
	for i, n := range s.names {
		r.Environment.Context.Set(n, vals[i].Interface())
	}
	return nil
}

// setFiltered is {% set x | f | g %}...{% endset %}.
type setFiltered struct {
	loc     *tokens.Token
	name    string
	filters []*nodes.FilterCall
	body    *nodes.Wrapper
}

func (s *setFiltered) Position() *tokens.Token { return s.loc }
func (s *setFiltered) String() string          { return "set" }

func parseSetFiltered(p *parser.Parser, args *parser.Parser) (nodes.ControlStructure, error) {
	s := &setFiltered{loc: p.Current(), name: args.Match(tokens.Name).Val}
	for args.Match(tokens.Pipe) != nil {
		fc, err := args.ParseFilter()
		if err != nil {
			return nil, err
		}
		s.filters = append(s.filters, fc)
	}
	if !args.End() {
		return nil, args.Error("expected the end of the 'set' tag after its filters", args.Current())
	}
	wrapper, endargs, err := p.WrapUntil("endset")
	if err != nil {
		return nil, err
	}
	if !endargs.End() {
		return nil, endargs.Error("endset takes no arguments", nil)
	}
	s.body = wrapper
	return s, nil
}

func (s *setFiltered) Execute(r *exec.Renderer, _ *nodes.ControlStructureBlock) error {
	buf := new(bytes.Buffer)
	sub := r.Inherit()
	sub.Output = buf
	if err := sub.ExecuteWrapper(s.body); err != nil {
		return err
	}
	v := exec.AsSafeValue(buf.String())
	ev := r.Evaluator()
	for _, fc := range s.filters {
		v = ev.ExecuteFilter(fc, v)
		if v.IsError() {
			return fmt.Errorf("set %s: %w", s.name, v)
		}
	}
	r.Environment.Context.Set(s.name, v.Interface())
	return nil
}
