package mapper

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// Python string formatting for templates written for Jinja2: the `%` operator
// ('%02d' % n, '%s has %d' % (a, b), '%(k)s' % d), the `format` filter (which
// is `%` in Jinja2) and str.format ('{:>8.2f}'.format(x)).
//
// Sandbox: every field's width and precision are known before its text is
// built, so each field's size is checked against the largest string a
// template may build (and charged to the render budget when the render state
// is at hand) before anything is allocated: '%0999999999d' is refused, not
// attempted.

// maxPrecision bounds digits after the point: Python prints at most ~1100
// significant digits of a float; more would only be zeros.
const maxPrecision = 1200

// fmtBudget checks sizes before strings are built.
type fmtBudget struct {
	st    *renderState // nil inside string methods (no state there): only the size cap holds
	limit int
	total int
}

func newFmtBudget(st *renderState, limit int) *fmtBudget {
	if st != nil {
		limit = st.maxValue
	}
	return &fmtBudget{st: st, limit: limit}
}

// take reserves n more bytes of the result.
func (b *fmtBudget) take(what string, n int) error {
	if n < 0 || n > b.limit || b.total+n > b.limit {
		return newTplErr(ErrLimit, "%s: the result would be larger than %d bytes", what, b.limit)
	}
	b.total += n
	if b.st != nil {
		return b.st.charge(n)
	}
	return nil
}

// percentArgs are the right-hand side of `%`: a tuple (list) of positional
// values, a mapping for %(name)s, or one value.
type percentArgs struct {
	list    []*exec.Value
	mapping *exec.Value
	next    int
}

func (a *percentArgs) pop() (*exec.Value, error) {
	if a.next >= len(a.list) {
		return nil, newTplErr(ErrRuntime, "not enough arguments for format string")
	}
	v := a.list[a.next]
	a.next++
	return v, nil
}

func listItems(v *exec.Value) []*exec.Value {
	var out []*exec.Value
	v.Iterate(func(_, _ int, item, _ *exec.Value) bool {
		out = append(out, item)
		return true
	}, func() {})
	return out
}

// percentFormat is Python's `format % args`. spread: args is a tuple
// written in the template, whose items are the arguments; any other value,
// a list included, is one argument (a mapping also serves %(name)s).
func percentFormat(format string, args *exec.Value, spread bool, st *renderState, limit int) (*exec.Value, error) {
	pa := &percentArgs{}
	switch {
	case spread && args.IsList():
		pa.list = listItems(args)
	case args.IsDict():
		pa.mapping = args
		pa.list = []*exec.Value{args}
	default:
		pa.list = []*exec.Value{args}
	}
	s, err := percentApply(format, pa, newFmtBudget(st, limit))
	if err != nil {
		return nil, err
	}
	if pa.mapping == nil && pa.next < len(pa.list) {
		return nil, newTplErr(ErrRuntime, "not all arguments converted during string formatting")
	}
	return exec.AsValue(s), nil
}

func percentApply(f string, pa *percentArgs, bud *fmtBudget) (string, error) {
	var b strings.Builder
	for i := 0; i < len(f); {
		j := strings.IndexByte(f[i:], '%')
		if j < 0 {
			if err := bud.take("%", len(f)-i); err != nil {
				return "", err
			}
			b.WriteString(f[i:])
			break
		}
		if err := bud.take("%", j); err != nil {
			return "", err
		}
		b.WriteString(f[i : i+j])
		i += j + 1
		if i >= len(f) {
			return "", newTplErr(ErrRuntime, "incomplete format")
		}
		var arg *exec.Value
		if f[i] == '(' {
			end := strings.IndexByte(f[i:], ')')
			if end < 0 {
				return "", newTplErr(ErrRuntime, "incomplete format key")
			}
			if pa.mapping == nil {
				return "", newTplErr(ErrRuntime, "format requires a mapping")
			}
			key := f[i+1 : i+end]
			v, ok := pa.mapping.GetItem(key)
			if !ok {
				return "", newTplErr(ErrRuntime, "format key %s is missing", quoteClip(key))
			}
			arg = v
			i += end + 1
		}
		var flags string
		for i < len(f) && strings.IndexByte("-+ #0", f[i]) >= 0 {
			flags += string(f[i])
			i++
		}
		width, prec := -1, -1
		readNum := func() (int, error) {
			if i < len(f) && f[i] == '*' {
				i++
				v, err := pa.pop()
				if err != nil {
					return 0, err
				}
				if !v.IsInteger() {
					return 0, newTplErr(ErrRuntime, "* wants int")
				}
				return v.Integer(), nil
			}
			start := i
			for i < len(f) && f[i] >= '0' && f[i] <= '9' {
				i++
			}
			if start == i {
				return -1, nil
			}
			n, err := strconv.Atoi(f[start:i])
			if err != nil || n > bud.limit {
				return 0, newTplErr(ErrLimit, "%%: a width or precision of %s is larger than %d", clip(f[start:i], 20), bud.limit)
			}
			return n, nil
		}
		var err error
		if width, err = readNum(); err != nil {
			return "", err
		}
		if width < -1 { // '*' with a negative number means left-aligned
			flags += "-"
			width = -width
		}
		if i < len(f) && f[i] == '.' {
			i++
			if prec, err = readNum(); err != nil {
				return "", err
			}
			if prec < 0 {
				prec = 0
			}
		}
		for i < len(f) && strings.IndexByte("hlL", f[i]) >= 0 {
			i++
		}
		if i >= len(f) {
			return "", newTplErr(ErrRuntime, "incomplete format")
		}
		conv := f[i]
		i++
		if conv == '%' {
			if err := bud.take("%", 1); err != nil {
				return "", err
			}
			b.WriteByte('%')
			continue
		}
		if arg == nil {
			if arg, err = pa.pop(); err != nil {
				return "", err
			}
		}
		s, err := percentField(conv, flags, width, prec, arg, bud)
		if err != nil {
			return "", err
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// percentField formats one conversion; sizes are checked before building.
func percentField(conv byte, flags string, width, prec int, v *exec.Value, bud *fmtBudget) (string, error) {
	if width > bud.limit || prec > maxPrecision && strings.IndexByte("eEfFgG", conv) >= 0 {
		return "", newTplErr(ErrLimit, "%%: a width or precision is over the limit")
	}
	var body string
	switch conv {
	case 's', 'r', 'a':
		s, err := textString(unwrapValue(v))
		if err != nil {
			return "", err
		}
		if conv != 's' && v.IsString() {
			s = pyRepr(s)
		}
		if prec >= 0 && utf8.RuneCountInString(s) > prec {
			s = string([]rune(s)[:prec])
		}
		return padText(s, width, strings.Contains(flags, "-"), bud)
	case 'c':
		switch {
		case v.IsInteger():
			body = string(rune(v.Integer()))
		case v.IsString() && utf8.RuneCountInString(v.String()) == 1:
			body = v.String()
		default:
			return "", newTplErr(ErrRuntime, "%%c requires an int or a single character")
		}
		return padText(body, width, strings.Contains(flags, "-"), bud)
	case 'd', 'i', 'u', 'x', 'X', 'o':
		if !isNum(v) || (v.IsFloat() && conv != 'd' && conv != 'i' && conv != 'u') {
			return "", newTplErr(ErrRuntime, "%%%c format: a number is required, not %s", conv, typeName(v))
		}
		var n int64
		if v.IsFloat() {
			fv := v.Float()
			if math.IsNaN(fv) || math.IsInf(fv, 0) {
				return "", newTplErr(ErrRuntime, "cannot convert float %s to integer", formatFloat(fv))
			}
			n = int64(fv)
		} else {
			n = intOf(v)
		}
		if err := bud.take("%", max(width, 24+max(prec, 0))); err != nil {
			return "", err
		}
		verb := map[byte]byte{'i': 'd', 'u': 'd'}[conv]
		if verb == 0 {
			verb = conv
		}
		return fmt.Sprintf("%"+flags+widthPrec(width, prec)+string(verb), n), nil
	case 'e', 'E', 'f', 'F', 'g', 'G':
		if !isNum(v) {
			return "", newTplErr(ErrRuntime, "%%%c format: a number is required, not %s", conv, typeName(v))
		}
		if prec < 0 {
			prec = 6
		}
		x := floatOf(v)
		size := prec + 32
		if conv == 'f' || conv == 'F' {
			if a := math.Abs(x); a >= 1 && !math.IsInf(a, 0) {
				size += int(math.Log10(a)) + 1
			}
		}
		if err := bud.take("%", max(width, size)); err != nil {
			return "", err
		}
		if math.IsInf(x, 0) || math.IsNaN(x) {
			s := map[bool]string{true: "inf", false: "nan"}[math.IsInf(x, 0)]
			if math.IsInf(x, -1) {
				s = "-inf"
			}
			if conv >= 'A' && conv <= 'Z' {
				s = strings.ToUpper(s)
			}
			return padText(s, width, strings.Contains(flags, "-"), nil)
		}
		verb := conv
		if verb == 'F' {
			verb = 'f'
		}
		return fmt.Sprintf("%"+flags+widthPrec(width, prec)+string(verb), x), nil
	}
	return "", newTplErr(ErrRuntime, "unsupported format character %q", rune(conv))
}

func widthPrec(width, prec int) string {
	s := ""
	if width >= 0 {
		s = strconv.Itoa(width)
	}
	if prec >= 0 {
		s += "." + strconv.Itoa(prec)
	}
	return s
}

// padText pads s with spaces to width characters, right-aligned unless left.
func padText(s string, width int, left bool, bud *fmtBudget) (string, error) {
	n := utf8.RuneCountInString(s)
	pad := 0
	if width > n {
		pad = width - n
	}
	if bud != nil {
		if err := bud.take("%", len(s)+pad); err != nil {
			return "", err
		}
	}
	if pad == 0 {
		return s, nil
	}
	if left {
		return s + strings.Repeat(" ", pad), nil
	}
	return strings.Repeat(" ", pad) + s, nil
}

// pyRepr is Python's repr() of a string: single quotes unless the text has
// one and no double quote.
func pyRepr(s string) string {
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == rune(q):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// filterFormat is Jinja2's `format` filter: "%s-%d" | format(a, b), or
// "%(k)s" | format(k=v).
func filterFormat(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	if len(params.Args) > 0 && len(params.KwArgs) > 0 {
		return errValue(newTplErr(ErrRuntime, "format: use positional or keyword arguments, not both"))
	}
	var args *exec.Value
	if len(params.KwArgs) > 0 {
		m := make(map[string]any, len(params.KwArgs))
		for k, v := range params.KwArgs {
			m[k] = v.Interface()
		}
		args = exec.AsValue(m)
	} else {
		list := make([]any, len(params.Args))
		for i, a := range params.Args {
			list[i] = a.Interface()
		}
		args = exec.AsValue(list)
	}
	out, err := percentFormat(textOf(in), args, true, renderStateOf(e), math.MaxInt) // Jinja2: value % args, a tuple
	if err != nil {
		return errValue(err)
	}
	return out
}

// ---- str.format

// strFormat is Python's str.format: {}, {0}, {name}, {0.attr}, {0[key]},
// !r/!s, and the format-spec mini-language with nested {} in the spec.
func strFormat(f string, args *exec.VarArgs, limit int) (string, error) {
	bud := newFmtBudget(nil, limit)
	auto := 0
	var b strings.Builder
	for i := 0; i < len(f); {
		c := f[i]
		if c == '}' {
			if i+1 < len(f) && f[i+1] == '}' {
				if err := bud.take("format", 1); err != nil {
					return "", err
				}
				b.WriteByte('}')
				i += 2
				continue
			}
			return "", newTplErr(ErrRuntime, "format: single '}' encountered in format string")
		}
		if c != '{' {
			j := strings.IndexAny(f[i:], "{}")
			if j < 0 {
				j = len(f) - i
			}
			if err := bud.take("format", j); err != nil {
				return "", err
			}
			b.WriteString(f[i : i+j])
			i += j
			continue
		}
		if i+1 < len(f) && f[i+1] == '{' {
			if err := bud.take("format", 1); err != nil {
				return "", err
			}
			b.WriteByte('{')
			i += 2
			continue
		}
		// find the matching '}' (one level of nested {} allowed in the spec)
		depth, j := 0, i+1
		for ; j < len(f); j++ {
			if f[j] == '{' {
				depth++
			} else if f[j] == '}' {
				if depth == 0 {
					break
				}
				depth--
			}
		}
		if j >= len(f) {
			return "", newTplErr(ErrRuntime, "format: expected '}' before end of string")
		}
		field := f[i+1 : j]
		i = j + 1
		name, spec := field, ""
		conv := byte(0)
		if k := strings.IndexByte(field, ':'); k >= 0 {
			name, spec = field[:k], field[k+1:]
		}
		if k := strings.IndexByte(name, '!'); k >= 0 {
			if k+2 != len(name) {
				return "", newTplErr(ErrRuntime, "format: bad conversion in %s", quoteClip(field))
			}
			conv = name[k+1]
			name = name[:k]
		}
		v, err := formatLookup(name, args, &auto)
		if err != nil {
			return "", err
		}
		if strings.Contains(spec, "{") {
			// nested fields inside the spec, e.g. {:>{w}}
			spec, err = strFormat(spec, args, 64)
			if err != nil {
				return "", err
			}
		}
		if conv == 'r' || conv == 'a' {
			s, _ := textString(unwrapValue(v))
			if v.IsString() {
				s = pyRepr(s)
			}
			v = exec.AsValue(s)
		} else if conv == 's' {
			v = exec.AsValue(textOf(v))
		}
		s, err := formatSpec(v, spec, bud)
		if err != nil {
			return "", err
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

func formatLookup(name string, args *exec.VarArgs, auto *int) (*exec.Value, error) {
	first, rest := name, ""
	if k := strings.IndexAny(name, ".["); k >= 0 {
		first, rest = name[:k], name[k:]
	}
	var v *exec.Value
	switch {
	case first == "":
		if *auto >= len(args.Args) {
			return nil, newTplErr(ErrRuntime, "format: replacement index %d out of range", *auto)
		}
		v = args.Args[*auto]
		*auto++
	case first[0] >= '0' && first[0] <= '9':
		n, err := strconv.Atoi(first)
		if err != nil || n >= len(args.Args) {
			return nil, newTplErr(ErrRuntime, "format: replacement index %s out of range", first)
		}
		v = args.Args[n]
	default:
		kv, ok := args.KwArgs[first]
		if !ok {
			return nil, newTplErr(ErrRuntime, "format: no argument named %s", quoteClip(first))
		}
		v = kv
	}
	for rest != "" {
		var key string
		if rest[0] == '.' {
			k := strings.IndexAny(rest[1:], ".[")
			if k < 0 {
				k = len(rest) - 1
			}
			key, rest = rest[1:k+1], rest[k+1:]
			// Python reads attributes here: a mapping has no attribute "first"
			if v.IsDict() {
				return nil, newTplErr(ErrRuntime, "format: a mapping has no attribute %s", quoteClip(key))
			}
			next, ok := v.GetAttribute(key)
			if !ok {
				return nil, newTplErr(ErrRuntime, "format: no attribute %s", quoteClip(key))
			}
			v = next
			continue
		}
		k := strings.IndexByte(rest, ']')
		if k < 0 {
			return nil, newTplErr(ErrRuntime, "format: missing ']'")
		}
		key, rest = rest[1:k], rest[k+1:]
		var next *exec.Value
		var ok bool
		if n, err := strconv.Atoi(key); err == nil && v.IsList() {
			next, ok = v.GetItem(n)
		} else {
			next, ok = v.GetItem(key)
		}
		if !ok {
			return nil, newTplErr(ErrRuntime, "format: no item %s", quoteClip(key))
		}
		v = next
	}
	return v, nil
}

type pySpec struct {
	fill      rune
	align     byte
	sign      byte
	alt, zero bool
	width     int
	group     byte
	prec      int
	typ       byte
}

func parseSpec(spec string, limit int) (pySpec, error) {
	p := pySpec{fill: ' ', width: -1, prec: -1}
	rs := []rune(spec)
	i := 0
	isAlign := func(r rune) bool { return r == '<' || r == '>' || r == '^' || r == '=' }
	if len(rs) >= 2 && isAlign(rs[1]) {
		p.fill, p.align = rs[0], byte(rs[1])
		i = 2
	} else if len(rs) >= 1 && isAlign(rs[0]) {
		p.align = byte(rs[0])
		i = 1
	}
	if i < len(rs) && (rs[i] == '+' || rs[i] == '-' || rs[i] == ' ') {
		p.sign = byte(rs[i])
		i++
	}
	if i < len(rs) && rs[i] == '#' {
		p.alt = true
		i++
	}
	if i < len(rs) && rs[i] == '0' {
		p.zero = true
		i++
	}
	num := func() (int, error) {
		start := i
		for i < len(rs) && rs[i] >= '0' && rs[i] <= '9' {
			i++
		}
		if start == i {
			return -1, nil
		}
		n, err := strconv.Atoi(string(rs[start:i]))
		if err != nil || n > limit {
			return 0, newTplErr(ErrLimit, "format: a width or precision of %s is larger than %d", clip(string(rs[start:i]), 20), limit)
		}
		return n, nil
	}
	var err error
	if p.width, err = num(); err != nil {
		return p, err
	}
	if i < len(rs) && (rs[i] == ',' || rs[i] == '_') {
		p.group = byte(rs[i])
		i++
	}
	if i < len(rs) && rs[i] == '.' {
		i++
		if p.prec, err = num(); err != nil {
			return p, err
		}
		if p.prec < 0 {
			return p, newTplErr(ErrRuntime, "format: format specifier missing precision")
		}
	}
	if i < len(rs) {
		p.typ = byte(rs[i])
		i++
	}
	if i != len(rs) {
		return p, newTplErr(ErrRuntime, "format: invalid format specifier %s", quoteClip(spec))
	}
	return p, nil
}

// formatSpec applies a Python format spec to one value.
func formatSpec(v *exec.Value, spec string, bud *fmtBudget) (string, error) {
	p, err := parseSpec(spec, bud.limit)
	if err != nil {
		return "", err
	}
	if p.prec > maxPrecision {
		return "", newTplErr(ErrLimit, "format: precision %d is over the limit of %d", p.prec, maxPrecision)
	}
	var body string
	switch {
	case v.IsString() || v.IsNil() || (!isNum(v) && p.typ == 0):
		if p.typ != 0 && p.typ != 's' {
			return "", newTplErr(ErrRuntime, "format: unknown format code %q for a %s", rune(p.typ), typeName(v))
		}
		if p.sign != 0 || p.group != 0 || p.align == '=' {
			return "", newTplErr(ErrRuntime, "format: sign, grouping and '=' are not allowed for strings")
		}
		body = textOf(v)
		if p.prec >= 0 && utf8.RuneCountInString(body) > p.prec {
			body = string([]rune(body)[:p.prec])
		}
		if p.align == 0 {
			p.align = '<'
		}
	case isNum(v):
		if p.align == 0 {
			p.align = '>'
			if p.zero {
				p.fill, p.align = '0', '='
			}
		}
		isInt := !v.IsFloat()
		typ := p.typ
		if typ == 0 {
			if isInt {
				typ = 'd'
			} else if p.prec >= 0 {
				typ = 'g'
			}
		}
		size := max(p.prec, 0) + 40
		if typ == 'f' || typ == 'F' || typ == '%' {
			if a := math.Abs(floatOf(v)); a >= 1 && !math.IsInf(a, 0) {
				size += int(math.Log10(a)) + 1
			}
		}
		if err := bud.take("format", max(size*4/3, p.width)); err != nil {
			return "", err
		}
		var digits string
		neg := false
		switch typ {
		case 'd', 'n':
			if !isInt {
				return "", newTplErr(ErrRuntime, "format: unknown format code 'd' for a number with a fraction")
			}
			n := intOf(v)
			neg = n < 0
			digits = strconv.FormatUint(absU(n), 10)
		case 'x', 'X', 'o', 'b':
			if !isInt {
				return "", newTplErr(ErrRuntime, "format: unknown format code %q for a number with a fraction", rune(typ))
			}
			n := intOf(v)
			neg = n < 0
			base := map[byte]int{'x': 16, 'X': 16, 'o': 8, 'b': 2}[typ]
			digits = strconv.FormatUint(absU(n), base)
			if typ == 'X' {
				digits = strings.ToUpper(digits)
			}
			if p.alt {
				digits = "0" + string(map[byte]byte{'x': 'x', 'X': 'X', 'o': 'o', 'b': 'b'}[typ]) + digits
			}
		case 'c':
			if !isInt {
				return "", newTplErr(ErrRuntime, "format: unknown format code 'c' for a number with a fraction")
			}
			digits = string(rune(intOf(v)))
		case 0:
			// float without type or precision: Python's repr
			x := floatOf(v)
			neg = math.Signbit(x) && !math.IsNaN(x)
			digits = pyFloatRepr(math.Abs(x))
		case 'e', 'E', 'f', 'F', 'g', 'G', '%':
			x := floatOf(v)
			neg = math.Signbit(x) && !math.IsNaN(x)
			a := math.Abs(x)
			prec := p.prec
			if prec < 0 {
				prec = 6
			}
			switch {
			case math.IsInf(a, 0):
				digits = "inf"
			case math.IsNaN(a):
				digits = "nan"
			case typ == '%':
				digits = strconv.FormatFloat(a*100, 'f', prec, 64) + "%"
			case typ == 'g' || typ == 'G':
				digits = fmt.Sprintf("%."+strconv.Itoa(max(prec, 1))+"g", a)
				if p.typ == 0 && !strings.ContainsAny(digits, ".e") {
					digits += ".0"
				}
			default:
				digits = fmt.Sprintf("%."+strconv.Itoa(prec)+string(typ|0x20), a)
			}
			if typ >= 'A' && typ <= 'Z' {
				digits = strings.ToUpper(digits)
			}
		default:
			return "", newTplErr(ErrRuntime, "format: unknown format code %q for a number", rune(typ))
		}
		if p.group != 0 {
			digits = groupDigits(digits, p.group)
		}
		sign := ""
		switch {
		case neg:
			sign = "-"
		case p.sign == '+':
			sign = "+"
		case p.sign == ' ':
			sign = " "
		}
		body = sign + digits
		if p.align == '=' && p.width > utf8.RuneCountInString(body) {
			fill := strings.Repeat(string(p.fill), p.width-utf8.RuneCountInString(body))
			if p.fill == '0' && p.group != 0 {
				// Python groups the zero padding too; rare in templates, keep it plain
				fill = strings.Repeat("0", p.width-utf8.RuneCountInString(body))
			}
			return sign + fill + digits, nil
		}
	default:
		return "", newTplErr(ErrRuntime, "format: cannot format a %s with %s", typeName(v), quoteClip(spec))
	}
	n := utf8.RuneCountInString(body)
	if p.width <= n {
		if err := bud.take("format", len(body)); err != nil {
			return "", err
		}
		return body, nil
	}
	pad := p.width - n
	if err := bud.take("format", len(body)+pad*utf8.RuneLen(p.fill)); err != nil {
		return "", err
	}
	fill := string(p.fill)
	switch p.align {
	case '<':
		return body + strings.Repeat(fill, pad), nil
	case '^':
		l := pad / 2
		return strings.Repeat(fill, l) + body + strings.Repeat(fill, pad-l), nil
	default:
		return strings.Repeat(fill, pad) + body, nil
	}
}

// groupDigits puts a separator every three digits of the integer part.
func groupDigits(s string, sep byte) string {
	end := strings.IndexAny(s, ".e%")
	if end < 0 {
		end = len(s)
	}
	intPart := s[:end]
	if len(intPart) <= 3 {
		return s
	}
	var b strings.Builder
	first := len(intPart) % 3
	if first > 0 {
		b.WriteString(intPart[:first])
	}
	for k := first; k < len(intPart); k += 3 {
		if b.Len() > 0 {
			b.WriteByte(sep)
		}
		b.WriteString(intPart[k : k+3])
	}
	return b.String() + s[end:]
}

// pyFloatRepr is Python's repr of a non-negative float: shortest digits, ".0"
// on whole numbers, exponent from 1e16 and below 1e-4.
func pyFloatRepr(a float64) string {
	switch {
	case math.IsInf(a, 0):
		return "inf"
	case math.IsNaN(a):
		return "nan"
	}
	if a != 0 && (a >= 1e16 || a < 1e-4) {
		s := strconv.FormatFloat(a, 'e', -1, 64)
		mant, exp, _ := strings.Cut(s, "e")
		if len(exp) == 2 { // e+5 -> e+05
			exp = exp[:1] + "0" + exp[1:]
		}
		return mant + "e" + exp
	}
	s := strconv.FormatFloat(a, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}
