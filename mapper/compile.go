package mapper

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"unsafe"

	"github.com/nikolalohinski/gonja/v2/config"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/loaders"
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/parser"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

const (
	// Names no template can spell (the lexer never produces a NUL), so user
	// data cannot shadow them and templates cannot reach them directly.
	binopName = "\x00binop"
	stateKey  = "\x00state"
	rootName  = "\x00root"

	maxTemplateBytes = 256 << 10
	maxNesting       = 100 // brackets inside one tag; deeper input would only exhaust the parser's stack
	maxTreeDepth     = 300 // nodes inside nodes (blocks in blocks, a.b.c chains): gonja's error messages grow with depth squared
)

var errNoLoad = errors.New("templates cannot include, import or extend other templates")

// srcMap maps offsets in the source gonja parsed back to the text the user wrote.
type srcMap struct {
	text    string // what the user wrote (template body or reference expression)
	removed []int  // parsed-source offsets where a "##" prefix was taken out, ascending
	shift   int    // bytes put in front of text before parsing (EvalString's "{{")
}

func (m *srcMap) toText(off int) int {
	k := sort.SearchInts(m.removed, off+1) // removals at or before off
	off = off - m.shift + 2*k
	if off < 0 {
		off = 0
	}
	if off > len(m.text) {
		off = len(m.text)
	}
	return off
}

func (m *srcMap) errorAt(kind ErrorKind, msg string, off int) *Error {
	if off < 0 {
		return &Error{Kind: kind, Message: msg, Where: whereTemplate}
	}
	return newPosError(kind, whereTemplate, msg, m.text, m.toText(off))
}

// stripHashes turns the help-centre spelling "##{{" into "{{" and remembers
// where, so reported columns still match the text the user wrote.
func stripHashes(body string) (string, []int) {
	if !strings.Contains(body, "##{{") {
		return body, nil
	}
	var b strings.Builder
	b.Grow(len(body))
	var removed []int
	for {
		i := strings.Index(body, "##{{")
		if i < 0 {
			b.WriteString(body)
			break
		}
		b.WriteString(body[:i])
		removed = append(removed, b.Len())
		b.WriteString("{{")
		body = body[i+4:]
	}
	return b.String(), removed
}

// outMode is how one {{ }} writes its value.
type outMode uint8

const (
	modeText       outMode = iota // plain text
	modeJSONValue                 // a JSON literal: "s", 1, true, null, {...}
	modeJSONString                // inside a JSON string literal: escaped, no quotes
	modeXML                       // XML-escaped text
)

type compiled struct {
	tpl    *exec.Template
	format Format
	src    srcMap
	single bool // the source is exactly one {{ }} (EvalString)
	reads  []readSite
}

// oneShotLoader hands gonja the template being compiled exactly once; every
// later read (include, import, extends, from) fails, so no template reaches the
// file system or another template.
type oneShotLoader struct {
	src  string
	used bool
}

func (l *oneShotLoader) Read(path string) (io.Reader, error) {
	if path == rootName && !l.used {
		l.used = true
		return strings.NewReader(l.src), nil
	}
	return nil, errNoLoad
}
func (l *oneShotLoader) Resolve(string) (string, error)         { return "", errNoLoad }
func (l *oneShotLoader) Inherit(string) (loaders.Loader, error) { return nil, errNoLoad }

func newConfig() *config.Config {
	c := config.New()
	c.KeepTrailingNewline = true // a body's final newline is part of the payload the user wrote
	return c
}

// compile parses a template body (after "##{{" stripping) and rewrites its tree
// for output-aware values and sandbox checks.
func (e *Engine) compile(body string, format Format) (*compiled, *Error) {
	source, removed := stripHashes(body)
	return e.compileSource(source, srcMap{text: body, removed: removed}, format)
}

func (e *Engine) compileSource(source string, sm srcMap, format Format) (c *compiled, cerr *Error) {
	defer func() {
		// gonja's parser has panics of its own (e.g. an empty {% raw %} block).
		if p := recover(); p != nil {
			c, cerr = nil, sm.errorAt(ErrSyntax, "the template could not be parsed (unsupported construct)", -1)
		}
	}()
	c = &compiled{format: format, src: sm}
	if len(source) > maxTemplateBytes {
		return nil, &Error{Kind: ErrSyntax, Where: whereTemplate,
			Message: "the template is larger than 256 KiB"}
	}
	cfg := newConfig()
	inString, lexErr := scanTokens(source, cfg)
	if lexErr != nil {
		return nil, sm.errorAt(ErrSyntax, lexErr.msg, lexErr.pos)
	}
	tpl, err := exec.NewTemplate(rootName, cfg, &oneShotLoader{src: source}, e.env)
	if err != nil {
		return nil, syntaxError(err, source, &sm)
	}
	c.tpl = tpl
	rw := &rewriter{format: format, inString: inString, seen: map[uintptr]bool{},
		readSite: map[*nodes.FilteredExpression]int{}, noRead: map[nodes.Node]bool{}, standalone: map[nodes.Node]bool{}}
	root := tpl.Root()
	jinja2Fixups(root) // macros.go: where gonja's parse tree differs from Jinja2's
	rw.template(root)
	c.reads = rw.reads
	if rw.tooDeep != nil {
		return nil, sm.errorAt(ErrSyntax, fmt.Sprintf("the template is nested more than %d levels deep", maxTreeDepth), rw.tooDeep.Pos)
	}
	c.single = len(root.Nodes) == 1 && isTag(root.Nodes[0], "output")
	return c, nil
}

type lexError struct {
	msg string
	pos int
}

// scanTokens lexes the source once more to (1) catch lexer errors, which gonja's
// parser silently treats as end of input, (2) refuse absurd bracket nesting, and
// (3) decide for each {{ }} whether it sits inside a JSON string literal.
//
// The in-string rule: only the template's literal text counts (everything
// outside {{ }}, {% %} and {# #}), read from the top of the file in source
// order, tracking double quotes and backslash escapes as JSON does. A {{ }}
// that comes after an opening quote and before its closing quote writes an
// escaped string without quotes; any other {{ }} writes a JSON literal. Loops
// and branches are not unrolled: each tag's mode is fixed where it is written.
func scanTokens(source string, cfg *config.Config) (map[int]bool, *lexError) {
	inString := map[int]bool{}
	in, esc := false, false
	depth := 0
	afterBlock := false
	var nesting tagNesting // budget.go
	s := tokens.LexAll(source, cfg)
	for !s.EOF() {
		t := s.Current()
		if err := nesting.see(t); err != nil {
			return nil, err
		}
		if afterBlock && t.Type == tokens.Name {
			switch t.Val {
			case "include", "import", "from", "extends":
				// They could never succeed (see oneShotLoader); say so when the template is saved.
				return nil, &lexError{msg: errNoLoad.Error(), pos: t.Pos}
			}
		}
		afterBlock = t.Type == tokens.BlockBegin
		switch t.Type {
		case tokens.Error:
			return nil, &lexError{msg: cleanLexMessage(t.Val), pos: t.Pos}
		case tokens.Data:
			for i := 0; i < len(t.Val); i++ {
				ch := t.Val[i]
				switch {
				case esc:
					esc = false
				case in && ch == '\\':
					esc = true
				case ch == '"':
					in = !in
				}
			}
		case tokens.VariableBegin:
			inString[t.Pos] = in
			depth = 0
		case tokens.BlockBegin:
			depth = 0
		case tokens.LeftParenthesis, tokens.LeftBracket, tokens.LeftBrace:
			depth++
			if depth > maxNesting {
				return nil, &lexError{msg: "brackets are nested too deeply", pos: t.Pos}
			}
		case tokens.RightParenthesis, tokens.RightBracket, tokens.RightBrace:
			depth--
		}
		s.Next()
	}
	return inString, nil
}

func cleanLexMessage(m string) string {
	if m == "" {
		return "the template could not be read"
	}
	if strings.HasPrefix(m, "unclosed") || strings.HasPrefix(m, "Unbalanced") || strings.HasPrefix(m, "Unexpected") || strings.HasPrefix(m, "Unable") {
		return m
	}
	return "unexpected text: " + clip(m, 60)
}

// syntaxError turns a gonja parse failure into an *Error without echoing the
// source (gonja's own message embeds the whole template).
func syntaxError(err error, source string, sm *srcMap) *Error {
	var se *parser.SyntaxError
	if errors.As(err, &se) {
		msg := se.Message
		if se.Raw != "" && !strings.Contains(msg, se.Raw) {
			msg += " (near " + quoteClip(se.Raw) + ")"
		}
		off := -1
		if se.Line > 0 {
			off = offsetOf(source, se.Line, se.Column)
		}
		return sm.errorAt(ErrSyntax, msg, off)
	}
	if strings.Contains(err.Error(), errNoLoad.Error()) {
		return sm.errorAt(ErrSyntax, errNoLoad.Error(), -1)
	}
	inner := errors.Unwrap(err) // NewTemplate wraps with the full source; drop that layer
	if inner == nil {
		return sm.errorAt(ErrSyntax, "the template could not be parsed", -1)
	}
	return sm.errorAt(ErrSyntax, clip(inner.Error(), 300), -1)
}

// offsetOf converts gonja's 1-based line and byte column into a byte offset.
func offsetOf(s string, line, col int) int {
	off := 0
	for l := 1; l < line; l++ {
		i := strings.IndexByte(s[off:], '\n')
		if i < 0 {
			return len(s)
		}
		off += i + 1
	}
	off += col - 1
	if off > len(s) {
		off = len(s)
	}
	if off < 0 {
		off = 0
	}
	return off
}

func isTag(n nodes.Node, name string) bool {
	b, ok := n.(*nodes.ControlStructureBlock)
	return ok && b.Name == name
}

// rewriter walks the parsed tree once and
//   - replaces each {{ }} with an outputTag that writes format-aware values,
//   - wraps each {% %} in a blockTag (step count, nesting depth, error position),
//   - wraps each body in a bodyTag (step count, buffer size, memory budget),
//   - reroutes arithmetic through binop, which caps sizes and refuses x/0,
//   - reroutes every read chain (x, x.y, x[k]) through readFilter (reads.go),
//     which notices undefined ones.
//
// Some gonja control structures keep their sub-trees in unexported fields
// (set, with, filter, include); the walk reaches them with reflect.NewAt so no
// expression escapes the rewrite.
type rewriter struct {
	format   Format
	inString map[int]bool
	seen     map[uintptr]bool
	depth    int
	tooDeep  *tokens.Token // first node found beyond maxTreeDepth
	target   int           // > 0 inside a tag's assignment target (budget.go wrapLiteral)

	reads      []readSite
	readSite   map[*nodes.FilteredExpression]int // read filter -> its site in reads
	noRead     map[nodes.Node]bool               // names that are written, not read ({% set x = %})
	standalone map[nodes.Node]bool               // getters kept as written (a method being called)
}

var (
	typeToken = reflect.TypeFor[tokens.Token]()
	typeNode  = reflect.TypeFor[nodes.Node]()
)

func (rw *rewriter) template(t *nodes.Template) {
	rw.markSeen(reflect.ValueOf(t))
	for i, n := range t.Nodes {
		rw.walk(reflect.ValueOf(n))
		t.Nodes[i] = rw.wrapTag(n)
	}
	for _, w := range t.Blocks {
		rw.walk(reflect.ValueOf(w))
	}
	for _, m := range t.Macros {
		rw.walk(reflect.ValueOf(m))
	}
}

func (rw *rewriter) markSeen(v reflect.Value) bool {
	p := v.Pointer()
	if rw.seen[p] {
		return false
	}
	rw.seen[p] = true
	return true
}

func (rw *rewriter) walk(v reflect.Value) {
	switch v.Kind() {
	case reflect.Interface:
		if !v.IsNil() && !rw.wrapLiteral(v, func(c reflect.Value) { accessible(v).Set(c) }) {
			rw.walk(v.Elem())
		}
	case reflect.Pointer:
		if v.IsNil() || v.Type().Elem() == typeToken || rw.tooDeep != nil || !rw.markSeen(v) {
			return
		}
		x := accessible(v).Interface()
		if n, ok := x.(nodes.Node); ok {
			rw.depth++
			defer func() { rw.depth-- }()
			if rw.depth > maxTreeDepth {
				rw.tooDeep = tokenOr(safePosition(n))
				return
			}
		}
		rw.guardFor(x) // budget.go
		switch n := x.(type) {
		case *nodes.Wrapper:
			for _, c := range n.Nodes {
				rw.walk(reflect.ValueOf(c))
			}
			tagged := make([]nodes.Node, len(n.Nodes))
			for i, c := range n.Nodes {
				tagged[i] = rw.wrapTag(c)
			}
			n.Nodes = []nodes.Node{&nodes.ControlStructureBlock{
				Location: n.Location, Name: "body", ControlStructure: &bodyTag{loc: n.Location, nodes: tagged},
			}}
			return
		case *nodes.BinaryExpression:
			_, tuple := n.Right.(*nodes.Tuple)       // before the walk wraps the literal
			rw.walk(reflect.ValueOf(&n.Left).Elem()) // the slots, so literals can be wrapped
			rw.walk(reflect.ValueOf(&n.Right).Elem())
			if read := rw.readCall(n.Left, false); read != nil {
				n.Left = read
			}
			if read := rw.readCall(n.Right, false); read != nil {
				n.Right = read
			}
			rewriteArith(n, tuple)
			return
		}
		if v.Elem().Kind() == reflect.Struct {
			rw.walk(v.Elem())
		}
		if call, ok := x.(*nodes.Call); ok {
			if ga, ok := call.Func.(*nodes.GetAttribute); ok && call.Parent != nil {
				call.Parent = ga.Node // a method's receiver: the (instrumented) node it is read from
			}
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			skip, quiet := rw.fieldRole(v, i)
			f := v.Field(i)
			target := isAssignTarget(v.Type().Field(i).Name)
			if target {
				rw.target++
			}
			rw.walk(f)
			if target {
				rw.target--
			}
			if !skip {
				rw.instrument(f, quiet)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			e := v.Index(i)
			rw.walk(e)
			rw.instrument(e, false)
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			k := it.Key()
			if !rw.wrapLiteral(it.Value(), func(c reflect.Value) { accessible(v).SetMapIndex(k, c) }) {
				rw.walk(it.Value())
			}
		}
		rw.instrumentMap(v)
	}
}

// accessible returns v usable for Interface() even when it was reached through
// an unexported field; v must be addressable or a plain pointer value.
func accessible(v reflect.Value) reflect.Value {
	if v.CanInterface() {
		return v
	}
	if v.CanAddr() {
		return reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
	}
	// A pointer copied out of an unexported map or interface: rebuild it from its address.
	return reflect.NewAt(v.Type().Elem(), v.UnsafePointer())
}

// safePosition tolerates nodes whose Position dereferences a missing child.
func safePosition(n nodes.Node) (t *tokens.Token) {
	defer func() {
		if recover() != nil {
			t = nil
		}
	}()
	return n.Position()
}

func (rw *rewriter) wrapTag(n nodes.Node) nodes.Node {
	switch t := n.(type) {
	case *nodes.Output:
		mode := modeText
		switch rw.format {
		case FormatJSON:
			mode = modeJSONValue
			if rw.inString[t.Start.Pos] {
				mode = modeJSONString
			}
		case FormatXML, FormatHTML:
			mode = modeXML
		}
		return &nodes.ControlStructureBlock{Location: t.Start, Name: "output",
			ControlStructure: &outputTag{out: t, mode: mode, pos: t.Start.Pos}}
	case *nodes.ControlStructureBlock:
		return &nodes.ControlStructureBlock{Location: t.Location, Name: t.Name,
			ControlStructure: &blockTag{inner: t, pos: t.Location.Pos}}
	}
	return n
}

type opcode int

const (
	opAdd opcode = iota + 1
	opSub
	opMul
	opDiv
	opFloorDiv
	opMod
	opPow
	opConcat
	opModTuple // % with a tuple literal on the right: its items are the arguments
)

var arithOps = map[tokens.Type]opcode{
	tokens.Addition: opAdd, tokens.Subtraction: opSub, tokens.Multiply: opMul,
	tokens.Division: opDiv, tokens.FloorDivision: opFloorDiv, tokens.Modulo: opMod,
	tokens.Power: opPow, tokens.Tilde: opConcat,
}

// rewriteArith turns `a OP b` into `true and binop(a, b, OP, pos)` in place:
// the node keeps its identity (parents need no update) and gonja's lazy `and`
// returns the call's value unchanged.
//
// `'…' % (a, b)` (a tuple written on the right) becomes opModTuple: Python
// spreads a tuple over the format, and takes anything else, a list included,
// as one argument (a tuple held in a variable is a list to us: one argument).
func rewriteArith(n *nodes.BinaryExpression, rightIsTuple bool) {
	if n.Operator == nil || n.Operator.Token == nil {
		return
	}
	op, ok := arithOps[n.Operator.Token.Type]
	if !ok {
		return
	}
	if op == opMod && rightIsTuple {
		op = opModTuple
	}
	tok := n.Operator.Token
	name := *tok
	name.Type, name.Val = tokens.Name, binopName
	call := &nodes.Call{
		Location: tok,
		Func:     &nodes.Name{Name: &name},
		Args: []nodes.Expression{n.Left, n.Right,
			&nodes.Integer{Location: tok, Val: int(op)}, &nodes.Integer{Location: tok, Val: tok.Pos}},
		Kwargs: map[string]nodes.Expression{},
	}
	and := *tok
	and.Type, and.Val = tokens.And, "and"
	n.Left = &nodes.Bool{Location: tok, Val: true}
	n.Right = call
	n.Operator = &nodes.BinOperator{Token: &and}
}
