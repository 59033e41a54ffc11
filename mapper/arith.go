package mapper

import (
	"math"
	"math/bits"
	"strings"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// binop evaluates the arithmetic the rewriter routed here: Python semantics,
// integers stay integers (overflow falls back to float), division by zero is
// an error, and strings/lists built by + ~ * are capped.
func binop(e *exec.Evaluator, params *exec.VarArgs) *exec.Value {
	if len(params.Args) != 4 {
		return errValue(newTplErr(ErrRuntime, "internal error: bad arithmetic call"))
	}
	l, r := params.Args[0], params.Args[1]
	op := opcode(params.Args[2].Integer())
	st := renderStateOf(e)
	v, err := arith(op, l, r, st)
	if err == nil {
		v = shareResult(v) // lists.go: a + b and a * n are new shared lists
	}
	if err != nil {
		if te, ok := err.(*tplErr); ok && te.pos < 0 {
			te.pos = params.Args[3].Integer()
		}
		return errValue(err)
	}
	return v
}

var opNames = map[opcode]string{opAdd: "+", opSub: "-", opMul: "*", opDiv: "/", opFloorDiv: "//", opMod: "%", opPow: "**", opConcat: "~", opModTuple: "%"}

func typeName(v *exec.Value) string {
	switch {
	case v.IsNil():
		return "none (undefined?)"
	case v.IsBool():
		return "boolean"
	case v.IsInteger():
		return "integer"
	case v.IsFloat():
		return "number"
	case v.IsString():
		return "string"
	case v.IsList():
		return "list"
	case v.IsDict():
		return "mapping"
	}
	return "value"
}

func isNum(v *exec.Value) bool { return v.IsInteger() || v.IsFloat() || v.IsBool() }

func intOf(v *exec.Value) int64 {
	if v.IsBool() {
		if v.Bool() {
			return 1
		}
		return 0
	}
	return int64(v.Integer())
}

func floatOf(v *exec.Value) float64 {
	if v.IsBool() || v.IsInteger() {
		return float64(intOf(v))
	}
	return v.Float()
}

func arith(op opcode, l, r *exec.Value, st *renderState) (*exec.Value, error) {
	limit := math.MaxInt
	if st != nil {
		limit = st.maxValue
	}
	checkLen := func(n int) error {
		if n > limit || n < 0 {
			return newTplErr(ErrLimit, "the result of %s would be larger than %d bytes", opNames[op], limit)
		}
		if st != nil {
			return st.charge(n)
		}
		return nil
	}
	switch op {
	case opConcat:
		// Weigh before textOf: a list operand would be printed whole.
		if st != nil {
			for _, x := range []*exec.Value{l, r} {
				if !x.IsString() {
					if err := st.checkWeight(x, limit, "the result of "+opNames[op]); err != nil {
						return nil, err
					}
				}
			}
		}
		a, b := textOf(l), textOf(r)
		if err := checkLen(len(a) + len(b)); err != nil {
			return nil, err
		}
		return exec.AsValue(a + b), nil
	case opAdd:
		if l.IsList() && r.IsList() {
			n := l.Len() + r.Len()
			if n > maxListItems {
				return nil, newTplErr(ErrLimit, "a list of %d items is over the limit of %d", n, maxListItems)
			}
			if st != nil {
				// The new list holds both: its printed size is the sum.
				wl, err := st.weightOf(l)
				if err != nil {
					return nil, err
				}
				wr, err := st.weightOf(r)
				if err != nil {
					return nil, err
				}
				if wl+wr > weightLimit(st.maxValue) {
					return nil, newTplErr(ErrLimit, "the list built by + would be larger than %d bytes when written out", weightLimit(st.maxValue))
				}
			}
			if err := chargeList(st, n); err != nil {
				return nil, err
			}
			out := make([]any, 0, n)
			for _, x := range []*exec.Value{l, r} {
				x.Iterate(func(_, _ int, item, _ *exec.Value) bool {
					out = append(out, item.Interface())
					return true
				}, func() {})
			}
			return exec.AsValue(out), nil
		}
		if l.IsString() && r.IsString() {
			return arith(opConcat, l, r, st)
		}
		if l.IsString() || r.IsString() { // Python: 'a' + 1 is a TypeError; ~ joins anything
			return nil, newTplErr(ErrRuntime, "unsupported operand types for +: %s and %s (use ~ to join text)", typeName(l), typeName(r))
		}
	case opMod, opModTuple:
		if l.IsString() { // Python's '%02d' % n (format.go)
			return percentFormat(l.String(), r, op == opModTuple, st, limit)
		}
		op = opMod
	case opMul:
		if s, n, ok := repeatOperands(l, r); ok {
			if n <= 0 {
				return exec.AsValue(""), nil
			}
			if n > int64(limit) || len(s)*int(n) > limit {
				return nil, newTplErr(ErrLimit, "repeating a string %d times would be larger than %d bytes", n, limit)
			}
			if err := checkLen(len(s) * int(n)); err != nil {
				return nil, err
			}
			return exec.AsValue(strings.Repeat(s, int(n))), nil
		}
		if l.IsList() && (r.IsInteger() || r.IsBool()) {
			n := intOf(r)
			if n <= 0 {
				return exec.AsValue([]any{}), nil
			}
			total := int64(l.Len()) * n
			if n > maxListItems || total > maxListItems {
				return nil, newTplErr(ErrLimit, "a list of %d items is over the limit of %d", total, maxListItems)
			}
			if st != nil {
				// Charged by what the list holds, not by its pointers:
				// [s] * 2000 with a 1 MB s prints 2 GB.
				w, err := st.weightOf(l)
				if err != nil {
					return nil, err
				}
				if err := st.chargeRepeat(w, int(n), weightLimit(st.maxValue), "repeating the list"); err != nil {
					return nil, err
				}
			}
			if err := chargeList(st, int(total)); err != nil {
				return nil, err
			}
			out := make([]any, 0, total)
			for i := int64(0); i < n; i++ {
				l.Iterate(func(_, _ int, item, _ *exec.Value) bool {
					out = append(out, item.Interface())
					return true
				}, func() {})
			}
			return exec.AsValue(out), nil
		}
	}
	if !isNum(l) || !isNum(r) {
		return nil, newTplErr(ErrRuntime, "unsupported operand types for %s: %s and %s", opNames[op], typeName(l), typeName(r))
	}
	ints := !l.IsFloat() && !r.IsFloat()
	a, b := intOf(l), intOf(r)
	x, y := floatOf(l), floatOf(r)
	switch op {
	case opAdd:
		if ints {
			if s, ok := addInt(a, b); ok {
				return exec.AsValue(s), nil
			}
		}
		return exec.AsValue(x + y), nil
	case opSub:
		if ints {
			if s, ok := addInt(a, -b); ok && b != math.MinInt64 {
				return exec.AsValue(s), nil
			}
		}
		return exec.AsValue(x - y), nil
	case opMul:
		if ints {
			if p, ok := mulInt(a, b); ok {
				return exec.AsValue(p), nil
			}
		}
		return exec.AsValue(x * y), nil
	case opDiv:
		if y == 0 {
			return nil, newTplErr(ErrRuntime, "division by zero")
		}
		return exec.AsValue(x / y), nil
	case opFloorDiv:
		if y == 0 {
			return nil, newTplErr(ErrRuntime, "division by zero")
		}
		if ints && !(a == math.MinInt64 && b == -1) {
			q := a / b
			if a%b != 0 && (a < 0) != (b < 0) {
				q--
			}
			return exec.AsValue(q), nil
		}
		return exec.AsValue(math.Floor(x / y)), nil
	case opMod:
		if y == 0 {
			return nil, newTplErr(ErrRuntime, "division by zero (modulo)")
		}
		if ints {
			if b == -1 {
				return exec.AsValue(int64(0)), nil
			}
			m := a % b
			if m != 0 && (m < 0) != (b < 0) {
				m += b
			}
			return exec.AsValue(m), nil
		}
		m := math.Mod(x, y)
		if m != 0 && (m < 0) != (y < 0) {
			m += y
		}
		return exec.AsValue(m), nil
	case opPow:
		if ints && b >= 0 {
			if p, ok := powInt(a, b); ok {
				return exec.AsValue(p), nil
			}
		}
		if x == 0 && y < 0 {
			return nil, newTplErr(ErrRuntime, "division by zero (0 to a negative power)")
		}
		return exec.AsValue(math.Pow(x, y)), nil
	}
	return nil, newTplErr(ErrRuntime, "unsupported operator")
}

// chargeList takes a new list's memory (two words an item) from the budget.
func chargeList(st *renderState, n int) error {
	if st == nil {
		return nil
	}
	return st.charge(16 * n)
}

func repeatOperands(l, r *exec.Value) (string, int64, bool) {
	if l.IsString() && (r.IsInteger() || r.IsBool()) {
		return l.String(), intOf(r), true
	}
	if r.IsString() && (l.IsInteger() || l.IsBool()) {
		return r.String(), intOf(l), true
	}
	return "", 0, false
}

func addInt(a, b int64) (int64, bool) {
	s := a + b
	if (a > 0 && b > 0 && s < 0) || (a < 0 && b < 0 && s >= 0) {
		return 0, false
	}
	return s, true
}

func mulInt(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	neg := (a < 0) != (b < 0)
	ua, ub := absU(a), absU(b)
	hi, lo := bits.Mul64(ua, ub)
	if hi != 0 || lo > math.MaxInt64 {
		if neg && hi == 0 && lo == 1<<63 {
			return math.MinInt64, true
		}
		return 0, false
	}
	if neg {
		return -int64(lo), true
	}
	return int64(lo), true
}

func absU(a int64) uint64 {
	if a < 0 {
		return uint64(-(a + 1)) + 1
	}
	return uint64(a)
}

func powInt(a, b int64) (int64, bool) {
	result := int64(1)
	for b > 0 {
		if b&1 == 1 {
			var ok bool
			if result, ok = mulInt(result, a); !ok {
				return 0, false
			}
		}
		b >>= 1
		if b > 0 {
			var ok bool
			if a, ok = mulInt(a, a); !ok {
				return 0, false
			}
		}
	}
	return result, true
}
