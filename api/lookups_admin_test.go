package api_test

import (
	"context"
	"strconv"
	"testing"

	"orderintake/internal/webtest"
)

// rowsOf reads a lookup answer's rows as key -> value.
func rowsOf(t *testing.T, l map[string]any) map[string]string {
	t.Helper()
	list, ok := l["rows"].([]any)
	if !ok {
		t.Fatalf("lookup %v has no rows list", l)
	}
	out := map[string]string{}
	for _, r := range list {
		m := r.(map[string]any)
		out[m["key"].(string)] = m["value"].(string)
	}
	return out
}

// importRows posts rows to a table with the given content type.
func importRows(e *webtest.Env, id, ctype, body string) (int, map[string]any) {
	e.T.Helper()
	status, out, _, _ := e.Do("POST", "/v1/admin/lookups/"+id+"/rows",
		map[string]string{"Authorization": "Bearer " + webtest.AdminToken, "Content-Type": ctype}, body)
	return status, out
}

func TestLookupsCRUD(t *testing.T) {
	e := webtest.New(t)
	cust := e.Fx.Customer.ID
	l := e.Must("POST", "/v1/admin/lookups", map[string]any{"customerId": cust, "name": " carrier ", "default": "OTHER",
		"rows": []any{map[string]any{"key": "ups", "value": "UPS"}, map[string]any{"key": "dhl_express", "value": "DHL Express"}}}, 201)
	id := l["id"].(string)
	if l["name"] != "carrier" || l["default"] != "OTHER" || l["rowCount"] != float64(2) || l["customerId"] != cust {
		t.Fatalf("created %v", l)
	}
	if first := l["rows"].([]any)[0].(map[string]any); first["key"] != "dhl_express" {
		t.Errorf("rows are not sorted by key: %v", l["rows"])
	}
	e.Must("POST", "/v1/admin/lookups", map[string]any{"customerId": cust, "name": "size"}, 201)

	for _, bad := range []struct {
		body   map[string]any
		status int
		field  string
	}{
		{map[string]any{"customerId": cust, "name": "carrier"}, 409, "name"},
		{map[string]any{"customerId": "cus_nope", "name": "x"}, 422, "customerId"},
		{map[string]any{"name": "x"}, 422, "customerId"},
		{map[string]any{"customerId": cust, "name": "  "}, 422, "name"},
		{map[string]any{"customerId": cust, "name": "dup", "rows": []any{map[string]any{"key": "a", "value": "1"},
			map[string]any{"key": "b", "value": "2"}, map[string]any{"key": "a", "value": "3"}}}, 422, "rows[2].key"},
		{map[string]any{"customerId": cust, "name": "empty", "rows": []any{map[string]any{"key": "", "value": "1"}}}, 422, "rows[0].key"},
	} {
		status, out := e.Admin("POST", "/v1/admin/lookups", bad.body)
		problemAt(t, "create "+mustJSON(bad.body), status, out, bad.status, bad.field)
	}

	list := e.Must("GET", "/v1/admin/lookups?customerId="+cust, nil, 200)["items"].([]any)
	if len(list) != 2 || list[0].(map[string]any)["name"] != "carrier" || list[0].(map[string]any)["rowCount"] != float64(2) {
		t.Errorf("list = %v", list)
	}
	if other := e.Must("GET", "/v1/admin/lookups?customerId=cus_other", nil, 200)["items"].([]any); len(other) != 0 {
		t.Errorf("another customer's list = %v", other)
	}
	if got := rowsOf(t, e.Must("GET", "/v1/admin/lookups/"+id, nil, 200)); got["ups"] != "UPS" || len(got) != 2 {
		t.Errorf("get rows = %v", got)
	}
	status, out := e.Admin("GET", "/v1/admin/lookups/lkp_nope", nil)
	problemAt(t, "get unknown", status, out, 404, "")

	// Replace: rows given replace them all; rows absent keep them.
	got := e.Must("PUT", "/v1/admin/lookups/"+id, map[string]any{"name": "carriers", "default": "",
		"rows": []any{map[string]any{"key": "gls", "value": "GLS"}}}, 200)
	if r := rowsOf(t, got); got["name"] != "carriers" || got["default"] != "" || len(r) != 1 || r["gls"] != "GLS" {
		t.Errorf("replace = %v", got)
	}
	got = e.Must("PUT", "/v1/admin/lookups/"+id, map[string]any{"customerId": cust, "name": "carrier", "default": "OTHER"}, 200)
	if r := rowsOf(t, got); got["default"] != "OTHER" || len(r) != 1 {
		t.Errorf("replace without rows = %v, want the rows kept", got)
	}
	status, out = e.Admin("PUT", "/v1/admin/lookups/"+id, map[string]any{"customerId": "cus_other"})
	problemAt(t, "move a table to another customer", status, out, 422, "customerId")
	status, out = e.Admin("PUT", "/v1/admin/lookups/"+id, map[string]any{"name": "size"})
	problemAt(t, "rename onto a taken name", status, out, 409, "name")
	status, out = e.Admin("PUT", "/v1/admin/lookups/lkp_nope", map[string]any{"name": "x"})
	problemAt(t, "replace unknown", status, out, 404, "")

	// The worker reads the same tables.
	tables, err := e.Store.ListLookups(context.Background(), cust)
	if err != nil || len(tables) != 2 || tables[0].Name != "carrier" || tables[0].Rows["gls"] != "GLS" {
		t.Errorf("store sees %+v, %v", tables, err)
	}
}

func TestLookupRowsImport(t *testing.T) {
	e := webtest.New(t)
	l := e.Must("POST", "/v1/admin/lookups", map[string]any{"customerId": e.Fx.Customer.ID, "name": "carrier",
		"rows": []any{map[string]any{"key": "dhl", "value": "DHL"}}}, 201)
	id := l["id"].(string)

	status, out := importRows(e, id, "text/csv; charset=utf-8", "key,value\r\ndhl,DHL Express\r\n\"gls\",\"GLS, Denmark\"\r\nups , UPS\r\n")
	if status != 200 || out["imported"] != float64(3) {
		t.Fatalf("CSV import = %d %v", status, out)
	}
	if r := rowsOf(t, out); len(r) != 3 || r["dhl"] != "DHL Express" || r["gls"] != "GLS, Denmark" || r["ups"] != "UPS" {
		t.Errorf("rows after the CSV import = %v", r)
	}

	// A bad line refuses the whole import and says where.
	for _, bad := range []struct {
		csv          string
		line, column float64
	}{
		{"key,value\nfedex,FedEx\npostnord;PostNord\n", 3, 1},
		{"key,value\nfedex,FedEx\nbring,Bring\nfedex,FedEx Express\n", 4, 1},
		{"fedex,FedEx\nbring,\"Bring \"Norway\"\n", 2, 0},
	} {
		status, out = importRows(e, id, "text/csv", bad.csv)
		problemAt(t, "CSV import "+bad.csv, status, out, 422, "body")
		if out["line"] != bad.line || (bad.column > 0 && out["column"] != bad.column) {
			t.Errorf("CSV import %q: problem at line %v column %v, want line %v column %v (%v)", bad.csv, out["line"], out["column"], bad.line, bad.column, out["detail"])
		}
	}
	if r := rowsOf(t, e.Must("GET", "/v1/admin/lookups/"+id, nil, 200)); len(r) != 3 || r["fedex"] != "" {
		t.Errorf("a refused import changed the table: %v", r)
	}

	status, out = importRows(e, id, "application/json", `{"rows": [{"key": "fedex", "value": "FedEx"}]}`)
	if r := rowsOf(t, out); status != 200 || len(r) != 4 || r["fedex"] != "FedEx" {
		t.Errorf("JSON import = %d %v", status, out)
	}
	status, out = importRows(e, id, "application/json", `{"rows": [{"key": "a", "value": "1"}, {"key": "a", "value": "2"}]}`)
	problemAt(t, "JSON import with a repeated key", status, out, 422, "rows[1].key")
	status, out = importRows(e, id, "application/json", `{"rows": []}`)
	problemAt(t, "empty import", status, out, 422, "body")
	status, out = importRows(e, id, "text/plain", "a,b\n")
	problemAt(t, "text/plain import", status, out, 415, "Content-Type")
	status, out = importRows(e, "lkp_nope", "text/csv", "a,b\n")
	problemAt(t, "import into an unknown table", status, out, 404, "")

	// Imported rows are what templates see.
	_, v := renderOK(e, map[string]any{"body": `{"carrier": "{{ lookups({"carrier": code}, strict=True) }}"}`, "format": "json",
		"customerId": e.Fx.Customer.ID, "input": map[string]any{"code": "gls"}})
	if v["carrier"] != "GLS, Denmark" {
		t.Errorf("render after import = %v", v)
	}
}

// The row limit holds across imports: a table never grows past it.
func TestLookupRowLimit(t *testing.T) {
	e := webtest.New(t)
	l := e.Must("POST", "/v1/admin/lookups", map[string]any{"customerId": e.Fx.Customer.ID, "name": "big"}, 201)
	id := l["id"].(string)
	csv := func(from, n int) string {
		b := []byte("key,value\n")
		for i := from; i < from+n; i++ {
			b = append(b, []byte("k"+strconv.Itoa(i)+",v\n")...)
		}
		return string(b)
	}
	if status, out := importRows(e, id, "text/csv", csv(0, 9000)); status != 200 || out["rowCount"] != float64(9000) {
		t.Fatalf("9000 rows = %d %v", status, out["rowCount"])
	}
	status, out := importRows(e, id, "text/csv", csv(9000, 1001))
	problemAt(t, "import past 10000 rows", status, out, 422, "")
	if got := e.Must("GET", "/v1/admin/lookups?customerId="+e.Fx.Customer.ID, nil, 200)["items"].([]any)[0].(map[string]any); got["rowCount"] != float64(9000) {
		t.Errorf("rowCount after a refused import = %v", got["rowCount"])
	}
}
