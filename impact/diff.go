package impact

import "strings"

// Row is one line of a side-by-side diff: Op is "same", "del" (left only),
// "add" (right only) or "change" (a left line replaced by a right one).
// Line numbers are 1-based; 0 means no line on that side.
type Row struct {
	Op      string `json:"op"`
	LeftNo  int    `json:"leftNo,omitempty"`
	Left    string `json:"left,omitempty"`
	RightNo int    `json:"rightNo,omitempty"`
	Right   string `json:"right,omitempty"`
}

// maxDiffLines bounds the LCS table (outputs are small; a huge one is
// shown as replaced wholesale rather than diffed at quadratic cost).
const maxDiffLines = 2000

// SideBySide diffs two texts by lines (longest common subsequence) and
// pairs deletions with the additions that follow them as changes.
func SideBySide(before, after string) []Row {
	a, b := strings.Split(before, "\n"), strings.Split(after, "\n")
	var ops []Row
	if len(a) > maxDiffLines || len(b) > maxDiffLines {
		for i, l := range a {
			ops = append(ops, Row{Op: "del", LeftNo: i + 1, Left: l})
		}
		for j, l := range b {
			ops = append(ops, Row{Op: "add", RightNo: j + 1, Right: l})
		}
		return pair(ops)
	}
	// lcs[i][j]: LCS length of a[i:] and b[j:]
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			ops = append(ops, Row{Op: "same", LeftNo: i + 1, Left: a[i], RightNo: j + 1, Right: b[j]})
			i, j = i+1, j+1
		case j < len(b) && (i == len(a) || lcs[i][j+1] >= lcs[i+1][j]):
			ops = append(ops, Row{Op: "add", RightNo: j + 1, Right: b[j]})
			j++
		default:
			ops = append(ops, Row{Op: "del", LeftNo: i + 1, Left: a[i]})
			i++
		}
	}
	return pair(ops)
}

// pair merges each run of deletions with the run of additions next to it
// into change rows, so a replaced line sits beside its replacement.
func pair(ops []Row) []Row {
	var out []Row
	for k := 0; k < len(ops); {
		if ops[k].Op == "same" {
			out = append(out, ops[k])
			k++
			continue
		}
		var dels, adds []Row
		for ; k < len(ops) && ops[k].Op != "same"; k++ {
			if ops[k].Op == "del" {
				dels = append(dels, ops[k])
			} else {
				adds = append(adds, ops[k])
			}
		}
		for n := 0; n < max(len(dels), len(adds)); n++ {
			switch {
			case n < len(dels) && n < len(adds):
				out = append(out, Row{Op: "change", LeftNo: dels[n].LeftNo, Left: dels[n].Left, RightNo: adds[n].RightNo, Right: adds[n].Right})
			case n < len(dels):
				out = append(out, dels[n])
			default:
				out = append(out, adds[n])
			}
		}
	}
	return out
}
