package mapper

import (
	"bytes"
	"encoding/csv"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestParseLookupCSV(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     []LookupRow
	}{
		{"header, CRLF and BOM", "\xEF\xBB\xBFkey,value\r\ndhl_express,DHL Express\r\nups,UPS\r\n",
			[]LookupRow{{"dhl_express", "DHL Express"}, {"ups", "UPS"}}},
		{"no header, spaces trimmed, blank lines skipped", "dhl , DHL Express\n\n   \nfedex,  FedEx\n",
			[]LookupRow{{"dhl", "DHL Express"}, {"fedex", "FedEx"}}},
		{"quoting", `"a,b","say ""hi"""` + "\n" + `multi,"line one` + "\nline two\"\n",
			[]LookupRow{{"a,b", `say "hi"`}, {"multi", "line one\nline two"}}},
		{"header in capitals, empty value", "Key,Value\nnone,\n", []LookupRow{{"none", ""}}},
		{"key,value after the first line is data", "x,y\nkey,value\n", []LookupRow{{"x", "y"}, {"key", "value"}}},
		{"empty", "", nil},
	} {
		got, err := ParseLookupCSV([]byte(c.in))
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: ParseLookupCSV = %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}

func TestParseLookupCSVErrorsNameTheLine(t *testing.T) {
	for _, c := range []struct {
		name, in     string
		line, column int
		says         string
	}{
		{"three fields", "key,value\na,b\nc,d,e\n", 3, 1, "has 3 fields"},
		{"semicolons", "a;b\n", 1, 1, "not a semicolon"},
		{"one field", "a,b\nlonely\n", 2, 1, "has 1 fields"},
		{"duplicate key", "key,value\ndhl,DHL\nups,UPS\ndhl,DHL Express\n", 4, 1, "first on line 2"},
		{"empty key", "a,b\n ,x\n", 2, 1, "key is empty"},
		{"bare quote", "a,b\nc,d \"e\" f\n", 2, 5, "quote appears inside an unquoted field"},
		{"unterminated quote", "a,b\nc,\"open\n", 2, 0, "not closed"},
		{"invalid UTF-8 after multibyte text", "æø,ok\nå,\xff\n", 2, 3, "not valid UTF-8"},
		{"long value", "a," + strings.Repeat("é", MaxLookupValue+1) + "\n", 1, 3, "value is longer"},
		{"NUL", "a,b\x00c\n", 1, 3, "NUL"},
	} {
		_, err := ParseLookupCSV([]byte(c.in))
		var le *LookupRowError
		if !errors.As(err, &le) || le.Line != c.line || (c.column != 0 && le.Column != c.column) || !strings.Contains(le.Message, c.says) {
			t.Errorf("%s: error = %#v, want line %d column %d saying %q", c.name, err, c.line, c.column, c.says)
			continue
		}
		if !strings.HasPrefix(err.Error(), "line ") {
			t.Errorf("%s: message %q does not start with the line", c.name, err)
		}
	}
}

func TestParseLookupCSVLimits(t *testing.T) {
	var rows strings.Builder
	for i := 0; i <= MaxLookupRows; i++ {
		rows.WriteString("key" + strconv.Itoa(i) + ",v\n")
	}
	_, err := ParseLookupCSV([]byte(rows.String()))
	var le *LookupRowError
	if !errors.As(err, &le) || le.Line != MaxLookupRows+1 || !strings.Contains(le.Message, "at most") {
		t.Errorf("%d rows: error %v, want the row limit at line %d", MaxLookupRows+1, err, MaxLookupRows+1)
	}
	if _, err := ParseLookupCSV(bytes.Repeat([]byte("a"), MaxLookupCSVBytes+1)); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized CSV: %v", err)
	}
}

func TestCheckLookupRows(t *testing.T) {
	if err := CheckLookupRows([]LookupRow{{"a", "1"}, {" a", "2"}}); err != nil {
		t.Errorf("distinct keys refused: %v", err)
	}
	err := CheckLookupRows([]LookupRow{{"a", "1"}, {"b", "2"}, {"a", "3"}})
	var le *LookupRowError
	if !errors.As(err, &le) || le.Index != 2 || le.Field != "key" || err.Error() != `rows[2].key: key "a" appears again (first in rows[0]); each key may appear once` {
		t.Errorf("duplicate: %v", err)
	}
	if err := CheckLookupRows([]LookupRow{{"", "x"}}); err == nil || !strings.HasPrefix(err.Error(), "rows[0].key:") {
		t.Errorf("empty key: %v", err)
	}
}

// FuzzLookupCSV: any bytes give rows or a *LookupRowError naming a line that
// exists, never a panic; accepted rows obey the limits, keys are unique, and
// writing them back as CSV reads back the same rows.
func FuzzLookupCSV(f *testing.F) {
	for _, s := range []string{
		"key,value\ndhl,DHL\n", "a,b\r\nc,d", `"a,b","c""d"`, "a;b", "a,b,c", "\xEF\xBB\xBFkey,value\n", "a,\"x\ny\"\n",
		"k,\"unterminated", "a,b\na,c", " , \n", "\xff,\xfe", "key,value\nkey,value\n", "a\x00,b",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := ParseLookupCSV(data)
		if err != nil {
			var le *LookupRowError
			if !errors.As(err, &le) {
				t.Fatalf("error %T %v is not a *LookupRowError", err, err)
			}
			if lines := bytes.Count(data, []byte("\n")) + 1; le.Line < 0 || le.Line > lines || le.Column < 0 {
				t.Fatalf("error at line %d column %d of a %d-line input: %v", le.Line, le.Column, lines, err)
			}
			if le.Message == "" {
				t.Fatal("error without a message")
			}
			return
		}
		if len(rows) > MaxLookupRows {
			t.Fatalf("%d rows accepted", len(rows))
		}
		if err := CheckLookupRows(rows); err != nil {
			t.Fatalf("accepted rows fail the JSON rules: %v", err)
		}
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		_ = w.Write([]string{"key", "value"})
		for _, r := range rows {
			_ = w.Write([]string{r.Key, r.Value})
		}
		w.Flush()
		again, err := ParseLookupCSV(buf.Bytes())
		if err != nil || len(again) != len(rows) || (len(rows) > 0 && !reflect.DeepEqual(again, rows)) {
			t.Fatalf("round trip of %q: %q, %v; want %q", buf.Bytes(), again, err, rows)
		}
	})
}
