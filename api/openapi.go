package api

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	oi "orderintake"
)

// The OpenAPI 3.1 document served at /openapi.json. Operations are listed
// here by hand, next to nothing that generates them, so a test can hold the
// document and the router to each other (api/openapi_test.go: every route
// documented, every documented route registered, examples valid). Schemas
// are JSON Schema 2020-12 in openAPISchemas below.

var (
	openAPIOnce sync.Once
	openAPIDoc  []byte
)

func (s *Server) openAPI(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=60")
	c.Data(http.StatusOK, "application/json", OpenAPIDocument())
}

// OpenAPIDocument returns the document as JSON.
func OpenAPIDocument() []byte {
	openAPIOnce.Do(func() {
		var err error
		if openAPIDoc, err = json.MarshalIndent(buildOpenAPI(), "", "  "); err != nil {
			panic("openapi: " + err.Error())
		}
	})
	return openAPIDoc
}

type oaOp = map[string]any
type oaOpt func(oaOp)

func ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }

func listOf(name string) map[string]any {
	return map[string]any{"type": "object", "required": []string{"items", "nextCursor"}, "properties": map[string]any{
		"items":      map[string]any{"type": "array", "items": ref(name)},
		"nextCursor": map[string]any{"type": []string{"string", "null"}, "description": "opaque; pass as cursor for the next (older) page; null on the last page"},
	}}
}

func oaParam(in, name, desc string, schema map[string]any, required bool) oaOpt {
	return func(o oaOp) {
		ps, _ := o["parameters"].([]any)
		o["parameters"] = append(ps, map[string]any{"name": name, "in": in, "description": desc, "required": required, "schema": schema})
	}
}

func query(name, desc string) oaOpt {
	return oaParam("query", name, desc, map[string]any{"type": "string"}, false)
}

func queryEnum(name, desc string, values []string) oaOpt {
	return oaParam("query", name, desc, map[string]any{"type": "string", "enum": values}, false)
}

func header(name, desc string) oaOpt {
	return oaParam("header", name, desc, map[string]any{"type": "string"}, false)
}

// body is a JSON request body.
func body(schema map[string]any, required bool) oaOpt {
	return func(o oaOp) {
		o["requestBody"] = map[string]any{"required": required, "content": map[string]any{"application/json": map[string]any{"schema": schema}}}
	}
}

func content(ctype string, schema map[string]any) map[string]any {
	return map[string]any{ctype: map[string]any{"schema": schema}}
}

func resp(status, desc string, ctypes map[string]any) oaOpt {
	return func(o oaOp) {
		rs, _ := o["responses"].(map[string]any)
		if rs == nil {
			rs = map[string]any{}
			o["responses"] = rs
		}
		r := map[string]any{"description": desc}
		if ctypes != nil {
			r["content"] = ctypes
		}
		rs[status] = r
	}
}

func ok(status, desc string, schema map[string]any) oaOpt {
	return resp(status, desc, content("application/json", schema))
}

var problemText = map[string]string{
	"400": "The body does not parse", "401": "Missing or wrong credentials", "403": "Not allowed for this key",
	"404": "No such resource", "409": "Conflict with the current state", "413": "Body too large",
	"415": "Unsupported content type", "422": "Invalid input: the problem names the field (and line/column for bodies and templates)",
	"503": "A dependency is unavailable; retry after Retry-After",
	"429": "Too many requests, or too many failed authentications from this address; retry after Retry-After",
}

// problems adds application/problem+json answers; 500 is on every operation.
func problems(statuses ...string) oaOpt {
	return func(o oaOp) {
		for _, st := range append(statuses, "500") {
			desc := problemText[st]
			if desc == "" {
				desc = "Internal error (details are logged, never shown)"
			}
			resp(st, desc, content("application/problem+json", ref("Problem")))(o)
		}
	}
}

func secured(scheme string) oaOpt {
	return func(o oaOp) { o["security"] = []any{map[string]any{scheme: []any{}}} }
}

func describe(d string) oaOpt { return func(o oaOp) { o["description"] = d } }

func op(tag, summary string, opts ...oaOpt) oaOp {
	o := oaOp{"tags": []string{tag}, "summary": summary}
	for _, f := range opts {
		f(o)
	}
	return o
}

// admin is an admin-token operation with the problems every admin call may answer.
func admin(summary string, opts ...oaOpt) oaOp {
	return op("Admin", summary, append([]oaOpt{secured("adminToken"), problems("401", "429")}, opts...)...)
}

var listParams = []oaOpt{
	query("from", "RFC 3339 time; rows at or after it (inclusive)"),
	query("to", "RFC 3339 time; rows before it (exclusive)"),
	query("customerId", "only this customer's rows"),
	oaParam("query", "limit", "page size, 1 to 500 (default 50)", map[string]any{"type": "string", "pattern": "^[0-9]+$"}, false),
	query("cursor", "the nextCursor of the previous page"),
}

var (
	orderStatusEnum    = OrderStatuses
	postbackStatusEnum = PostbackStatuses
	pathParam          = regexp.MustCompile(`\{([A-Za-z]+)\}`)
)

func buildOpenAPI() map[string]any {
	paths := map[string]map[string]any{}
	add := func(method, path string, o oaOp) {
		if paths[path] == nil {
			paths[path] = map[string]any{}
		}
		// Path parameters are strings named in the template.
		for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
			oaParam("path", m[1], "", map[string]any{"type": "string"}, true)(o)
		}
		o["operationId"] = strings.ToLower(method) + operationName(path)
		paths[path][strings.ToLower(method)] = o
	}

	// ---- operations
	add("GET", "/healthz", op("Operations", "Liveness: the process answers", ok("200", "Alive", ref("Health"))))
	add("GET", "/readyz", op("Operations", "Readiness: PostgreSQL and Temporal reachable",
		ok("200", "Ready", ref("Ready")), ok("503", "Not ready; checks say which dependency is down", ref("Ready"))))
	add("GET", "/metrics", op("Operations", "Prometheus metrics",
		describe("HTTP requests by route and status, orders by status, postback attempts by outcome, and the Temporal SDK's client metrics."),
		resp("200", "Prometheus text exposition", content("text/plain", map[string]any{"type": "string"}))))
	add("GET", "/openapi.json", op("Operations", "This document", ok("200", "OpenAPI 3.1 document", map[string]any{"type": "object"})))

	// ---- customers' and printers' API
	add("POST", "/v1/orders", op("Orders", "Submit an order",
		describe("JSON or XML body up to 1 MiB. The order key is the Idempotency-Key, else the order reference, else a fresh ULID. "+
			"A customer with a reference expression never gets the ULID: an order for which it gives nothing (undefined, none, "+
			"empty) or fails is refused with 422 naming the expression and why (referenceExpression; line and column when known)."),
		secured("apiKey"), header("Idempotency-Key", "makes repeats safe: same key and body answers 200 with the existing order"),
		func(o oaOp) {
			o["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": map[string]any{"type": "object"}},
				"application/xml":  map[string]any{"schema": map[string]any{"type": "string"}}}}
		},
		ok("202", "Accepted: the order's workflow started", ref("OrderAccepted")),
		ok("200", "A repeat of an order already accepted", ref("OrderAccepted")),
		problems("400", "401", "403", "409", "413", "415", "422", "429", "503")))
	add("GET", "/v1/orders/{id}", op("Orders", "An order's status, printerOrderId, cancels and event timeline (own orders only)", secured("apiKey"),
		ok("200", "The order", ref("OrderStatus")), problems("401", "403", "404", "429")))
	add("GET", "/v1/orders", op("Orders", "The customer's own orders, newest first, in keyset pages",
		secured("apiKey"), query("reference", "order reference (prefix)"), query("status", "one status"),
		query("from", "received at or after (RFC 3339)"), query("to", "received before (RFC 3339)"),
		query("limit", "page size, 1 to 500 (default 50)"), query("cursor", "nextCursor of the page before"),
		ok("200", "A page of orders", ref("OrderPage")), problems("401", "403", "422", "429")))
	add("POST", "/v1/orders/{id}/cancel", op("Orders", "Cancel an order (a workflow Update)",
		describe("Optional JSON or XML body: the cancel template's input. Before the printer took the order the submission "+
			"stops (no printer call); after, the cancel template goes to the printer's cancelUrl. 200 canceled; 202 "+
			"cancel_pending when the printer's verdict is not in within 30 s (GET the order for the outcome); 409 once "+
			"shipped or ended (orderStatus), or when the printer refused (printerStatus, printerAnswer). With the customer's "+
			"cancel_response template the answer is rendered in its format."),
		secured("apiKey"), ok("200", "Canceled", ref("CancelAnswer")), ok("202", "The printer's verdict is pending", ref("CancelAnswer")),
		problems("400", "401", "403", "404", "409", "413", "415", "422", "429", "503")))
	add("POST", "/v1/printer/orders/{id}/events", op("Printers", "Report a status event", secured("apiKey"),
		body(ref("PrinterEventInput"), true),
		ok("202", "Queued for the order's workflow", ref("EventAccepted")),
		ok("200", "A repeat of an event already recorded", ref("EventAccepted")),
		problems("400", "401", "403", "404", "409", "413", "422", "429", "503")))

	// ---- admin: customers and keys
	add("POST", "/v1/admin/customers", admin("Create a customer", body(ref("CustomerInput"), true),
		ok("201", "Created", ref("Customer")), problems("400", "409", "422")))
	add("GET", "/v1/admin/customers", admin("List customers (all of them: a small configuration table, nextCursor is always null)",
		ok("200", "Customers by name", listOf("Customer"))))
	add("GET", "/v1/admin/customers/{id}", admin("A customer", ok("200", "The customer", ref("Customer")), problems("404")))
	add("PATCH", "/v1/admin/customers/{id}", admin("Change a customer (fields left out keep their value)",
		body(ref("CustomerInput"), true), ok("200", "Changed", ref("Customer")), problems("400", "404", "409", "422")))
	add("POST", "/v1/admin/customers/{id}/keys", admin("Create a customer API key (returned once, stored hashed)",
		ok("201", "The key, with its secret this once", ref("APIKey")), problems("404")))
	add("GET", "/v1/admin/customers/{id}/keys", admin("List a customer's keys (prefixes only)",
		ok("200", "Keys, newest first", listOf("APIKey")), problems("404")))
	add("DELETE", "/v1/admin/customers/{id}/keys/{keyId}", admin("Revoke a customer key",
		resp("204", "Revoked", nil), problems("404")))

	// ---- admin: printers and keys
	add("POST", "/v1/admin/printers", admin("Create a printer", body(ref("PrinterInput"), true),
		ok("201", "Created", ref("Printer")), problems("400", "422")))
	add("GET", "/v1/admin/printers", admin("List printers (all of them; nextCursor is always null)",
		ok("200", "Printers by name", listOf("Printer"))))
	add("GET", "/v1/admin/printers/{id}", admin("A printer", ok("200", "The printer", ref("Printer")), problems("404")))
	add("PATCH", "/v1/admin/printers/{id}", admin("Change a printer", body(ref("PrinterInput"), true),
		ok("200", "Changed", ref("Printer")), problems("400", "404", "422")))
	add("POST", "/v1/admin/printers/{id}/keys", admin("Create a printer API key (returned once)",
		ok("201", "The key, with its secret this once", ref("APIKey")), problems("404")))
	add("GET", "/v1/admin/printers/{id}/keys", admin("List a printer's keys (prefixes only)",
		ok("200", "Keys, newest first", listOf("APIKey")), problems("404")))
	add("DELETE", "/v1/admin/printers/{id}/keys/{keyId}", admin("Revoke a printer key",
		resp("204", "Revoked", nil), problems("404")))

	// ---- admin: templates
	add("POST", "/v1/admin/templates", admin("Create a template (syntax checked)", body(ref("TemplateInput"), true),
		ok("201", "Created at version 1", ref("Template")), problems("400", "422")))
	add("GET", "/v1/admin/templates", admin("List templates at their current version (all; nextCursor is always null)",
		ok("200", "Templates by name", listOf("Template"))))
	add("GET", "/v1/admin/templates/{id}", admin("A template at its current version",
		ok("200", "The template", ref("Template")), problems("404")))
	add("PUT", "/v1/admin/templates/{id}", admin("Save a new version", body(ref("TemplateInput"), true),
		ok("200", "The template at its new version", ref("Template")), problems("400", "404", "422")))
	add("GET", "/v1/admin/templates/{id}/versions", admin("Every version, newest first",
		ok("200", "Versions", listOf("TemplateVersion")), problems("404")))
	add("GET", "/v1/admin/templates/{id}/versions/{version}", admin("One saved version",
		ok("200", "The version", ref("TemplateVersion")), problems("404")))
	add("POST", "/v1/admin/templates/{id}/rollback", admin("Save a new version whose body is an old version's (history stays append-only)",
		body(ref("RollbackInput"), true), ok("200", "The template at its new version", ref("Template")), problems("400", "404", "422")))
	add("POST", "/v1/admin/templates/render", admin("Render a template over a sample input",
		describe("Renders body, or a stored template (templateId, optional version; default current), over input: for intake "+
			"and cancel kinds the input is an order body (a JSON value, or the raw request as a string with contentType); for "+
			"webhook and email kinds the postback context, else the documented sample of event (default shipped). "+
			"customerId supplies the customer's lookup tables. The output is validated. A template failure is a 422 "+
			"problem with kind (syntax, runtime, lookup, output, limit), where (template or output), line, column and excerpt."),
		body(ref("RenderInput"), true), ok("200", "The output", ref("RenderOutput")), problems("400", "404", "422")))

	// ---- admin: lookups
	add("POST", "/v1/admin/lookups", admin("Create a lookup table", body(ref("LookupInput"), true),
		ok("201", "Created", ref("Lookup")), problems("400", "409", "422")))
	add("GET", "/v1/admin/lookups", admin("List lookup tables (all; nextCursor is always null)", query("customerId", "one customer's tables"),
		ok("200", "Lookup tables", listOf("Lookup"))))
	add("GET", "/v1/admin/lookups/{id}", admin("A lookup table with its rows", ok("200", "The table", ref("Lookup")), problems("404")))
	add("PUT", "/v1/admin/lookups/{id}", admin("Replace a lookup table", body(ref("LookupInput"), true),
		ok("200", "Replaced", ref("Lookup")), problems("400", "404", "409", "422")))
	add("POST", "/v1/admin/lookups/{id}/rows", admin("Import rows (CSV key,value or JSON); keys already there take the new value",
		describe("text/csv: one key,value per line, an optional header line key,value, RFC 4180 quoting, fields trimmed; "+
			"or application/json {rows: [{key, value}]}. A key twice in one import refuses the import (the problem names the line). "+
			"At most 10000 rows per table, 1 MiB per import, keys up to 200 and values up to 2000 characters."),
		func(o oaOp) {
			rows := map[string]any{"type": "object", "required": []string{"rows"}, "additionalProperties": false,
				"properties": map[string]any{"rows": map[string]any{"type": "array", "items": ref("LookupRow")}}}
			o["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"text/csv":         map[string]any{"schema": map[string]any{"type": "string"}},
				"application/json": map[string]any{"schema": rows}}}
		},
		ok("200", "The table with its rows", ref("Lookup")), problems("400", "404", "415", "422")))

	// ---- admin: triggers
	add("POST", "/v1/admin/triggers", admin("Create a postback trigger (its signing secret is returned once)",
		body(ref("TriggerInput"), true), ok("201", "Created, with secret", ref("Trigger")), problems("400", "422")))
	add("GET", "/v1/admin/triggers", admin("List triggers (all; nextCursor is always null)", query("customerId", "one customer's triggers"),
		ok("200", "Triggers", listOf("Trigger"))))
	add("GET", "/v1/admin/triggers/{id}", admin("A trigger", ok("200", "The trigger", ref("Trigger")), problems("404")))
	add("PATCH", "/v1/admin/triggers/{id}", admin("Change a trigger", body(ref("TriggerInput"), true),
		ok("200", "Changed", ref("Trigger")), problems("400", "404", "422")))
	add("POST", "/v1/admin/triggers/{id}/rotate-secret", admin("Rotate the signing secret (the old one signs for 24 h more)",
		ok("200", "The trigger with its new secret", ref("Trigger")), problems("404")))
	add("POST", "/v1/admin/triggers/{id}/test", admin("Render the trigger on an event's sample and send it once",
		body(map[string]any{"type": "object", "properties": map[string]any{"event": ref("Event")}, "additionalProperties": false}, false),
		ok("202", "The test postback, queued", ref("Postback")), problems("400", "404", "422", "503")))

	// ---- admin: work settings
	add("GET", "/v1/admin/settings/smtp", admin("The outgoing mail server (password never shown)",
		ok("200", "Settings", ref("SMTPSettings"))))
	add("PUT", "/v1/admin/settings/smtp", admin("Replace the outgoing mail server settings", body(ref("SMTPInput"), true),
		ok("200", "Saved", ref("SMTPSettings")), problems("400", "422")))

	// ---- admin: the order's life after intake
	add("POST", "/v1/admin/requests/{id}/cancel", admin("Cancel an order as its customer would (same path as POST /v1/orders/{id}/cancel)",
		ok("200", "Canceled", ref("CancelAnswer")), ok("202", "The printer's verdict is pending", ref("CancelAnswer")),
		problems("400", "404", "409", "413", "415", "422", "503")))
	add("POST", "/v1/admin/requests/{id}/resubmit", admin("Send a failed order again (current template version; same order id and workflow)",
		ok("202", "The new try is under way", ref("ResubmitAnswer")), problems("404", "409", "503")))
	add("POST", "/v1/admin/requests/resubmit", admin("Send every failed order of a customer received in [from, to) again",
		body(ref("BulkResubmitInput"), true), ok("202", "What was resubmitted, and what was skipped and why", ref("BulkResubmitAnswer")),
		problems("400", "404", "422")))

	// ---- admin: Requests and Postbacks views
	add("GET", "/v1/admin/requests", admin("Requests view: orders newest first",
		append(append([]oaOpt{}, listParams...),
			queryEnum("status", "only orders in this status", orderStatusEnum),
			query("printerId", "only orders routed to this printer"),
			query("reference", "order reference prefix"),
			query("q", "free text: part of the order reference (any case), or an exact order id or idempotency key"),
			ok("200", "A page of orders", listOf("RequestSummary")), problems("422"))...))
	add("GET", "/v1/admin/requests/{id}", admin("One order: the four stages, the event timeline and its postbacks",
		ok("200", "The order", ref("RequestDetail")), problems("404")))
	add("GET", "/v1/admin/postbacks", admin("Postbacks view: deliveries newest first",
		append(append([]oaOpt{}, listParams...),
			queryEnum("status", "only postbacks in this status", postbackStatusEnum),
			oaParam("query", "event", "only this event", ref("Event"), false),
			query("triggerId", "only this trigger's postbacks"),
			query("orderId", "only this order's postbacks"),
			query("reference", "order reference prefix"),
			query("q", "free text: part of the order reference, or an exact order, idempotency key or postback id"),
			ok("200", "A page of postbacks", listOf("Postback")), problems("422"))...))
	add("GET", "/v1/admin/postbacks/{id}", admin("One postback with every attempt",
		ok("200", "The postback", ref("PostbackDetail")), problems("404")))
	add("POST", "/v1/admin/postbacks/{id}/resend", admin("Resend one postback now (a new attempt series)",
		ok("202", "Queued", ref("ResendAccepted")), problems("404", "409", "503")))
	add("POST", "/v1/admin/postbacks/resend", admin("Resend in bulk by time window, status and trigger",
		body(ref("BulkResendInput"), true), ok("202", "Queued", ref("BulkResendAccepted")), problems("400", "422", "503")))

	addHQ(add)

	doc := map[string]any{
		"openapi":           "3.1.0",
		"jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
		"info": map[string]any{"title": "orderintake", "version": "1",
			"description": "Order intake and postback gateway for print-on-demand. Errors are application/problem+json " +
				"with code, detail and field (line and column for bodies and templates). Lists answer {items, nextCursor}, " +
				"newest first, keyset-paginated: pass nextCursor back as cursor; rows that arrive meanwhile never shift a page."},
		"servers": []any{map[string]any{"url": "/"}},
		"tags": []any{
			map[string]any{"name": "Orders", "description": "customers' systems (X-API-KEY: a customer key)"},
			map[string]any{"name": "Printers", "description": "printers (X-API-KEY: a printer key)"},
			map[string]any{"name": "Admin", "description": "operators (Authorization: Bearer <admin token>)"},
			map[string]any{"name": "Operations", "description": "health, metrics and this document"},
			map[string]any{"name": "HQ", "description": "server-rendered operator pages (session cookie after login with the admin token; forms carry a CSRF token)"},
		},
		"paths": paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"adminToken": map[string]any{"type": "http", "scheme": "bearer", "description": "ORDERINTAKE_ADMIN_TOKEN"},
				"apiKey":     map[string]any{"type": "apiKey", "in": "header", "name": "X-API-KEY"},
				"hqSession":  map[string]any{"type": "apiKey", "in": "cookie", "name": sessionCookie},
			},
			"schemas": openAPISchemas(),
		},
	}
	return doc
}

// addHQ documents the HTML pages: they answer text/html, forms post
// application/x-www-form-urlencoded with the session's CSRF token.
func addHQ(add func(method, path string, o oaOp)) {
	page := func(summary string) oaOp {
		return op("HQ", summary, secured("hqSession"), resp("200", "HTML page", content("text/html", map[string]any{"type": "string"})),
			resp("303", "Not signed in: redirect to the login page", nil))
	}
	form := func(summary string) oaOp {
		return op("HQ", summary, secured("hqSession"),
			func(o oaOp) {
				o["requestBody"] = map[string]any{"required": true, "content": map[string]any{
					"application/x-www-form-urlencoded": map[string]any{"schema": map[string]any{"type": "object",
						"required": []string{"csrf"}, "properties": map[string]any{"csrf": map[string]any{"type": "string"}}}}}}
			},
			resp("303", "Done: redirect to the changed page", nil),
			resp("200", "HTML page with the result or the problem", content("text/html", map[string]any{"type": "string"})),
			resp("403", "CSRF check failed", content("text/html", map[string]any{"type": "string"})))
	}
	add("GET", "/hq/hq.css", op("HQ", "Style sheet", resp("200", "CSS", content("text/css", map[string]any{"type": "string"}))))
	add("GET", "/hq/login", op("HQ", "Login page", resp("200", "HTML page", content("text/html", map[string]any{"type": "string"}))))
	add("POST", "/hq/login", op("HQ", "Sign in with the admin token (sets the session cookie)",
		resp("303", "Signed in", nil), resp("401", "Wrong token", content("text/html", map[string]any{"type": "string"})),
		resp("429", "Too many failed sign-ins from this address; retry after Retry-After", content("text/html", map[string]any{"type": "string"}))))
	add("POST", "/hq/logout", form("Sign out (ends the session on every replica)"))
	add("POST", "/hq/logout-everywhere", form("Sign out everywhere: end every HQ session"))
	add("GET", "/hq/", page("Redirects to Requests"))
	add("GET", "/hq/requests", page("Requests: list with date range and filters"))
	add("GET", "/hq/requests/{id}", page("One order: four panes, timeline, postbacks, Web UI link"))
	add("POST", "/hq/requests/{id}/cancel", form("Cancel an order (confirmed on the page)"))
	add("POST", "/hq/requests/{id}/resubmit", form("Resubmit a failed order"))
	add("POST", "/hq/requests/resubmit", form("Resubmit every failed order of a customer in a window"))
	add("GET", "/hq/postbacks", page("Postbacks: list with filters and bulk resend"))
	add("GET", "/hq/postbacks/{id}", page("One postback with every attempt"))
	add("POST", "/hq/postbacks/{id}/resend", form("Resend a postback"))
	add("POST", "/hq/postbacks/resend", form("Resend postbacks in bulk"))
	add("GET", "/hq/templates", page("Templates"))
	add("GET", "/hq/templates/new", page("New template editor"))
	add("POST", "/hq/templates", form("Create a template"))
	add("POST", "/hq/templates/render", form("Render the editor's template over a sample input"))
	add("GET", "/hq/templates/{id}", page("Template editor"))
	add("POST", "/hq/templates/{id}", form("Save a new template version"))
	add("POST", "/hq/templates/{id}/rollback", form("Make an old template version current again"))
	for _, r := range hqResources {
		base := "/hq/" + r.Name
		add("GET", base, page(r.Title))
		add("POST", base, form("Create a "+r.Singular))
		add("GET", base+"/{id}", page("One "+r.Singular))
		add("POST", base+"/{id}", form("Change a "+r.Singular))
		if r.Keys {
			add("POST", base+"/{id}/keys", form("Create a "+r.Singular+" key"))
			add("POST", base+"/{id}/keys/{keyId}/revoke", form("Revoke a "+r.Singular+" key"))
		}
		if r.Rows {
			add("POST", base+"/{id}/rows", form("Import "+r.Singular+" rows (CSV)"))
		}
		for _, a := range r.Actions {
			add("POST", base+"/{id}/"+a.Path, form(a.Label))
		}
	}
	add("GET", "/hq/settings", page("Settings: outgoing mail"))
	add("POST", "/hq/settings", form("Save the outgoing mail settings"))
}

// operationName turns /v1/admin/customers/{id}/keys into AdminCustomersIdKeys.
func operationName(path string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(path, func(r rune) bool { return r == '/' || r == '{' || r == '}' || r == '-' || r == '.' }) {
		if part == "v1" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// openAPISchemas are the bodies' schemas (JSON Schema 2020-12).
func openAPISchemas() map[string]any {
	var out map[string]any
	if err := json.Unmarshal([]byte(schemasJSON), &out); err != nil {
		panic("openapi schemas: " + err.Error())
	}
	out["Event"] = map[string]any{"type": "string", "enum": oi.Events}
	// A postback's detail is its list view with the attempts themselves in
	// "attempts" (the list view's count moves to attemptCount).
	var detail map[string]any
	raw, _ := json.Marshal(out["Postback"])
	_ = json.Unmarshal(raw, &detail)
	props := detail["properties"].(map[string]any)
	props["attempts"] = map[string]any{"type": "array", "items": ref("Attempt")}
	props["attemptCount"] = map[string]any{"type": "integer", "description": "attempts made so far"}
	detail["required"] = append(detail["required"].([]any), "attemptCount")
	out["PostbackDetail"] = detail
	return out
}

const schemasJSON = `{
  "CancelAnswer": {"type": "object", "required": ["id", "orderReferenceId", "status", "cancelId", "printerCalled", "links"], "properties": {
    "id": {"type": "string"}, "orderReferenceId": {"type": "string"}, "status": {"enum": ["canceled", "cancel_pending"]},
    "cancelId": {"type": "string"}, "printerCalled": {"type": "boolean", "description": "false when the cancel stopped the submission before the printer took the order"},
    "printerStatus": {"type": "integer"},
    "links": {"type": "object", "properties": {"self": {"type": "string"}, "hq": {"type": "string"}}}}},
  "OrderPage": {"type": "object", "required": ["items", "nextCursor"], "properties": {
    "items": {"type": "array", "items": {"type": "object", "required": ["id", "orderReferenceId", "status", "printerOrderId", "receivedAt"], "properties": {
      "id": {"type": "string"}, "orderReferenceId": {"type": "string"}, "status": {"type": "string"}, "printerOrderId": {"type": "string"},
      "receivedAt": {"$ref": "#/components/schemas/Time"}, "updatedAt": {"$ref": "#/components/schemas/Time"},
      "links": {"type": "object", "properties": {"self": {"type": "string"}, "hq": {"type": "string"}}}}}},
    "nextCursor": {"type": "string", "description": "empty on the last page"}}},
  "ResubmitAnswer": {"type": "object", "required": ["id", "status", "try"], "properties": {
    "id": {"type": "string"}, "status": {"const": "accepted"}, "try": {"type": "integer"},
    "links": {"type": "object", "properties": {"self": {"type": "string"}, "hq": {"type": "string"}}}}},
  "BulkResubmitInput": {"type": "object", "required": ["customerId", "from", "to"], "additionalProperties": false, "properties": {
    "customerId": {"type": "string"}, "from": {"$ref": "#/components/schemas/Time"}, "to": {"$ref": "#/components/schemas/Time"}}},
  "BulkResubmitAnswer": {"type": "object", "required": ["customerId", "resubmitted", "skipped", "truncated"], "properties": {
    "customerId": {"type": "string"}, "from": {"$ref": "#/components/schemas/Time"}, "to": {"$ref": "#/components/schemas/Time"},
    "resubmitted": {"type": "array", "items": {"type": "string"}},
    "skipped": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "string"}, "reason": {"type": "string"}}}},
    "truncated": {"type": "boolean"}, "limit": {"type": "integer"}}},
  "Problem": {"type": "object", "required": ["type", "title", "status", "code", "detail"],
    "description": "RFC 9457 problem; extra members (line, column, where, excerpt, ...) say where input was wrong",
    "properties": {
      "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
      "code": {"type": "string"}, "detail": {"type": "string"}, "instance": {"type": "string"},
      "field": {"type": "string", "description": "what was wrong, e.g. body.items[0].sku or status"},
      "line": {"type": "integer"}, "column": {"type": "integer"}}},
  "Time": {"type": "string", "format": "date-time"},
  "NullableTime": {"type": ["string", "null"], "format": "date-time"},
  "StringMap": {"type": "object", "additionalProperties": {"type": "string"}},
  "MultiMap": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
  "Health": {"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}},
  "Ready": {"type": "object", "required": ["status", "checks"], "properties": {
    "status": {"enum": ["ready", "unready"]},
    "checks": {"type": "object", "required": ["postgres", "temporal"], "properties": {
      "postgres": {"enum": ["ok", "unreachable"]}, "temporal": {"enum": ["ok", "unreachable"]}}}}},
  "OrderAccepted": {"type": "object", "required": ["id", "orderReferenceId", "status", "links"], "properties": {
    "id": {"type": "string"}, "orderReferenceId": {"type": "string"}, "status": {"type": "string"},
    "links": {"type": "object", "required": ["self", "hq"], "properties": {
      "self": {"type": "string"}, "hq": {"type": "string"}, "workflow": {"type": "string"}}}}},
  "OrderStatus": {"type": "object", "required": ["id", "orderReferenceId", "status", "receivedAt", "events"], "properties": {
    "id": {"type": "string"}, "orderReferenceId": {"type": "string"}, "status": {"type": "string"},
    "statusReason": {"type": "string"}, "receivedAt": {"$ref": "#/components/schemas/Time"},
    "updatedAt": {"$ref": "#/components/schemas/Time"},
    "printerOrderId": {"type": "string", "description": "the printer's own id of the order (empty until it gave one)"},
    "try": {"type": "integer", "description": "the submit try (2 and up after a resubmit)"},
    "cancels": {"type": "array", "items": {"type": "object", "properties": {
      "id": {"type": "string"}, "outcome": {"enum": ["pending", "canceled", "refused", "failed"]},
      "outcomeReason": {"type": "string"}, "printerCalled": {"type": "boolean"}, "printerStatus": {"type": "integer"},
      "requestedAt": {"$ref": "#/components/schemas/Time"}, "updatedAt": {"$ref": "#/components/schemas/Time"}}}},
    "events": {"type": "array", "items": {"type": "object", "properties": {
      "eventId": {"type": "string"}, "status": {"$ref": "#/components/schemas/Event"}, "timestamp": {"$ref": "#/components/schemas/Time"},
      "message": {"type": "string"}, "trackingCode": {"type": "string"}, "trackingUrl": {"type": "string"},
      "carrierName": {"type": "string"}}}}}},
  "PrinterEventInput": {"type": "object", "required": ["eventId", "status"], "additionalProperties": false, "properties": {
    "eventId": {"type": "string", "maxLength": 200, "description": "the printer's id of this event; repeats have no second effect"},
    "status": {"$ref": "#/components/schemas/Event"}, "timestamp": {"type": "string", "format": "date-time"},
    "message": {"type": "string", "maxLength": 4000}, "trackingCode": {"type": "string"},
    "trackingUrl": {"type": "string"}, "carrierName": {"type": "string"}}},
  "EventAccepted": {"type": "object", "required": ["orderId", "eventId", "status", "result"], "properties": {
    "orderId": {"type": "string"}, "eventId": {"type": "string"}, "status": {"type": "string"},
    "result": {"enum": ["queued", "duplicate"]}}},
  "Customer": {"type": "object", "required": ["id", "name", "referenceId", "printerId", "intakeTemplateId", "cancelTemplateId",
      "referenceExpression", "createdAt", "updatedAt"], "properties": {
    "id": {"type": "string"}, "name": {"type": "string"}, "referenceId": {"type": "string"},
    "printerId": {"type": "string"}, "intakeTemplateId": {"type": "string"}, "cancelTemplateId": {"type": "string"},
    "referenceExpression": {"type": "string"},
    "submitResponseTemplateId": {"type": "string"}, "cancelResponseTemplateId": {"type": "string"},
    "delayedAfter": {"type": "string", "description": "e.g. 48h; empty: no delayed event"},
    "createdAt": {"$ref": "#/components/schemas/Time"}, "updatedAt": {"$ref": "#/components/schemas/Time"}}},
  "CustomerInput": {"type": "object", "additionalProperties": false, "properties": {
    "name": {"type": "string"}, "referenceId": {"type": "string"}, "printerId": {"type": "string"},
    "intakeTemplateId": {"type": "string"}, "cancelTemplateId": {"type": "string"},
    "submitResponseTemplateId": {"type": "string", "description": "a submit_response template: our answer to POST /v1/orders in the merchant's format"},
    "cancelResponseTemplateId": {"type": "string", "description": "a cancel_response template: our answer to cancel in the merchant's format"},
    "delayedAfter": {"type": "string", "description": "fire the delayed event when the printer has not shipped this long after it took the order (48h, 90m, 30s); empty turns it off"},
    "referenceExpression": {"type": "string", "description": "one template expression that pulls the order reference out of the body, written order.ref or {{ order.ref }}; checked when saved (422 with line and column); an order it gives no reference for is refused"}}},
  "APIKey": {"type": "object", "required": ["id", "ownerKind", "ownerId", "prefix", "createdAt"], "properties": {
    "id": {"type": "string"}, "ownerKind": {"enum": ["customer", "printer"]}, "ownerId": {"type": "string"},
    "prefix": {"type": "string"}, "key": {"type": "string", "description": "the key itself: only in the answer that created it"},
    "createdAt": {"$ref": "#/components/schemas/Time"}, "revokedAt": {"$ref": "#/components/schemas/Time"}}},
  "Printer": {"type": "object", "required": ["id", "name", "url", "format", "headers", "timeoutMs", "createdAt", "updatedAt"], "properties": {
    "id": {"type": "string"}, "name": {"type": "string"}, "url": {"type": "string"}, "format": {"enum": ["json", "xml"]},
    "headers": {"$ref": "#/components/schemas/StringMap", "description": "names only: values are sealed at rest and shown as ••••"}, "timeoutMs": {"type": "integer"},
    "cancelUrl": {"type": "string"}, "orderIdExpression": {"type": "string"},
    "createdAt": {"$ref": "#/components/schemas/Time"}, "updatedAt": {"$ref": "#/components/schemas/Time"}}},
  "PrinterInput": {"type": "object", "additionalProperties": false, "properties": {
    "cancelUrl": {"type": "string", "description": "where cancels go: a template string such as https://psp.example/orders/{{ printerOrderId }}/cancel; checked when saved"},
    "orderIdExpression": {"type": "string", "description": "one expression over the printer's answer to an order (id, data.order.id) giving printerOrderId; checked when saved"},
    "name": {"type": "string"}, "url": {"type": "string", "description": "absolute http(s) URL"}, "format": {"enum": ["json", "xml"]},
    "headers": {"$ref": "#/components/schemas/StringMap", "description": "write-only values: absent keeps the stored headers; a value •••• keeps that header's stored value"}, "timeoutMs": {"type": "integer", "minimum": 100, "maximum": 120000}}},
  "Template": {"type": "object", "required": ["id", "name", "kind", "format", "version", "body", "createdAt", "updatedAt"], "properties": {
    "id": {"type": "string"}, "name": {"type": "string"}, "kind": {"enum": ["intake", "cancel", "submit_response", "cancel_response", "webhook", "email"]},
    "format": {"enum": ["json", "xml", "text"]}, "version": {"type": "integer"}, "body": {"type": "string"},
    "subject": {"type": "string"},
    "strict": {"type": "boolean", "description": "an undefined variable is a template error (line and column), not an empty value"},
    "createdAt": {"$ref": "#/components/schemas/Time"}, "updatedAt": {"$ref": "#/components/schemas/Time"}}},
  "TemplateInput": {"type": "object", "required": ["name", "format", "body"], "additionalProperties": false, "properties": {
    "name": {"type": "string"}, "kind": {"enum": ["intake", "cancel", "submit_response", "cancel_response", "webhook", "email"], "description": "required on create; cannot change"},
    "format": {"enum": ["json", "xml", "text"]}, "body": {"type": "string"}, "subject": {"type": "string"},
    "strict": {"type": "boolean", "description": "an undefined variable is a template error instead of an empty value; default false on create, the current version's on PUT"}}},
  "TemplateVersion": {"type": "object", "required": ["templateId", "version", "format", "body", "createdAt"], "properties": {
    "templateId": {"type": "string"}, "version": {"type": "integer"}, "format": {"enum": ["json", "xml", "text"]},
    "body": {"type": "string"}, "subject": {"type": "string"}, "createdAt": {"$ref": "#/components/schemas/Time"},
    "strict": {"type": "boolean"}}},
  "RenderInput": {"type": "object", "additionalProperties": false, "properties": {
    "body": {"type": "string", "description": "a template text (or templateId)"},
    "templateId": {"type": "string", "description": "a stored template (or body)"},
    "version": {"type": "integer", "minimum": 1, "description": "version of templateId (default: current)"},
    "format": {"enum": ["json", "xml", "text"], "description": "required with body; with templateId overrides the stored format"},
    "kind": {"enum": ["intake", "cancel", "submit_response", "cancel_response", "webhook", "email"], "description": "default: the stored template's; for body intake, or webhook when event is given"},
    "customerId": {"type": "string", "description": "whose lookup tables lookups() reads (and customer.* for intake)"},
    "input": {"description": "intake/cancel: the order body as a JSON value, or the raw request as a string with contentType; webhook/email: the postback context"},
    "contentType": {"type": "string", "description": "with a string input: parse it as this request type (application/json, application/xml)"},
    "headers": {"$ref": "#/components/schemas/StringMap"},
    "event": {"$ref": "#/components/schemas/Event"},
    "strict": {"type": "boolean", "description": "render as a strict template (default: the stored template's; false for a body)"}}},
  "Warning": {"type": "object", "required": ["line", "column", "message"], "properties": {
    "line": {"type": "integer", "description": "1-based line in the template; 0 when not at one place"},
    "column": {"type": "integer"}, "message": {"type": "string"}}},
  "RenderOutput": {"type": "object", "required": ["output", "warnings", "format", "kind", "templateVersion"], "properties": {
    "warnings": {"type": "array", "items": {"$ref": "#/components/schemas/Warning"}, "description": "undefined variables or attributes the render printed or tested, and names of ours the body shadows; sorted by position, at most 50 and a count"},
    "subjectWarnings": {"type": "array", "items": {"$ref": "#/components/schemas/Warning"}},
    "strict": {"type": "boolean"},
    "output": {"type": "string"}, "format": {"enum": ["json", "xml", "text"]}, "kind": {"enum": ["intake", "cancel", "submit_response", "cancel_response", "webhook", "email"]},
    "templateVersion": {"type": ["integer", "null"], "description": "the stored version rendered; null for a body"},
    "subject": {"type": "string", "description": "an e-mail template's rendered subject"}}},
  "RollbackInput": {"type": "object", "required": ["version"], "additionalProperties": false, "properties": {
    "version": {"type": "integer", "minimum": 1, "description": "the version whose body becomes the new current version"}}},
  "LookupRow": {"type": "object", "required": ["key", "value"], "additionalProperties": false, "properties": {
    "key": {"type": "string", "minLength": 1, "maxLength": 200}, "value": {"type": "string", "maxLength": 2000}}},
  "Lookup": {"type": "object", "required": ["id", "customerId", "name", "default", "rowCount", "createdAt", "updatedAt"], "properties": {
    "id": {"type": "string"}, "customerId": {"type": "string"}, "name": {"type": "string"}, "default": {"type": "string"},
    "rows": {"type": "array", "items": {"$ref": "#/components/schemas/LookupRow"}, "description": "sorted by key; not in lists"},
    "rowCount": {"type": "integer"}, "imported": {"type": "integer", "description": "rows in this import (rows route)"},
    "createdAt": {"$ref": "#/components/schemas/Time"}, "updatedAt": {"$ref": "#/components/schemas/Time"}}},
  "LookupInput": {"type": "object", "additionalProperties": false, "properties": {
    "customerId": {"type": "string", "description": "required on create; cannot change"}, "name": {"type": "string", "maxLength": 100},
    "default": {"type": "string", "description": "what a lenient lookups() gives for a value without a row"},
    "rows": {"type": "array", "maxItems": 10000, "description": "on replace, absent keeps the rows", "items": {"$ref": "#/components/schemas/LookupRow"}}}},
  "Trigger": {"type": "object", "required": ["id", "customerId", "name", "event", "method", "templateId", "format",
      "retryOnFailure", "status", "createdAt", "updatedAt"], "properties": {
    "id": {"type": "string"}, "customerId": {"type": "string"}, "name": {"type": "string"},
    "event": {"$ref": "#/components/schemas/Event"}, "method": {"enum": ["url", "email"]}, "templateId": {"type": "string"},
    "format": {"enum": ["json", "xml", "text"]}, "url": {"type": "string"}, "emails": {"type": "array", "items": {"type": "string"}},
    "retryOnFailure": {"type": "boolean"}, "status": {"enum": ["test", "active", "disabled"]},
    "disabledReason": {"type": "string"},
    "createdAt": {"$ref": "#/components/schemas/Time"}, "updatedAt": {"$ref": "#/components/schemas/Time"},
    "secret": {"type": "string", "description": "whsec_ signing secret: only when created or rotated"}}},
  "TriggerInput": {"type": "object", "additionalProperties": false, "properties": {
    "customerId": {"type": "string"}, "name": {"type": "string"}, "event": {"$ref": "#/components/schemas/Event"},
    "method": {"enum": ["url", "email"]}, "templateId": {"type": "string"}, "format": {"enum": ["json", "xml"]},
    "url": {"type": "string"}, "emails": {"type": "array", "items": {"type": "string"}},
    "retryOnFailure": {"type": "boolean"}, "status": {"enum": ["test", "active", "disabled"]}}},
  "SMTPSettings": {"type": "object", "required": ["fromAddress", "fromName", "host", "port", "username", "hasPassword", "tls"], "properties": {
    "fromAddress": {"type": "string"}, "fromName": {"type": "string"}, "host": {"type": "string"}, "port": {"type": "integer"},
    "username": {"type": "string"}, "hasPassword": {"type": "boolean"}, "tls": {"type": "boolean"},
    "allowPlainAuth": {"type": "boolean", "description": "AUTH over a connection without TLS (a relay on a trusted network)"},
    "updatedAt": {"$ref": "#/components/schemas/Time"}}},
  "SMTPInput": {"type": "object", "required": ["fromAddress", "host"], "additionalProperties": false, "properties": {
    "fromAddress": {"type": "string"}, "fromName": {"type": "string"}, "host": {"type": "string"},
    "port": {"type": "integer", "minimum": 1, "maximum": 65535}, "username": {"type": "string"},
    "password": {"type": "string", "description": "write-only: absent keeps the stored one while host, port and username stay the same (a change of any drops it), empty removes it"},
    "tls": {"type": "boolean"},
    "allowPlainAuth": {"type": "boolean", "description": "let the username and password travel without TLS; default false (a send with credentials and TLS off is refused)"}}},
  "RequestSummary": {"type": "object", "required": ["id", "customerId", "orderReferenceId", "status", "receivedAt", "updatedAt", "workflowId"], "properties": {
    "id": {"type": "string"}, "customerId": {"type": "string"}, "printerId": {"type": "string"},
    "orderReferenceId": {"type": "string"}, "status": {"type": "string"}, "statusReason": {"type": "string"},
    "receivedAt": {"$ref": "#/components/schemas/Time"}, "updatedAt": {"$ref": "#/components/schemas/Time"},
    "workflowId": {"type": "string"}}},
  "RequestDetail": {"type": "object", "required": ["id", "customerId", "workflowId", "orderReferenceId", "status", "receivedAt",
      "originalRequest", "templateProcessing", "finalRequest", "systemResponse", "events", "postbacks", "links"], "properties": {
    "id": {"type": "string"}, "customerId": {"type": "string"}, "printerId": {"type": "string"},
    "workflowId": {"type": "string"}, "idempotencyKey": {"type": "string"}, "orderReferenceId": {"type": "string"},
    "status": {"type": "string"}, "statusReason": {"type": "string"},
    "receivedAt": {"$ref": "#/components/schemas/Time"}, "updatedAt": {"$ref": "#/components/schemas/Time"},
    "originalRequest": {"type": "object", "required": ["contentType", "headers", "body"], "description": "1. what the customer's system sent, as received", "properties": {
      "contentType": {"type": "string"}, "headers": {"$ref": "#/components/schemas/MultiMap"}, "body": {"type": "string"},
      "receivedAt": {"$ref": "#/components/schemas/Time"}}},
    "templateProcessing": {"type": "object", "description": "2. the intake template's output or error, with the template version", "properties": {
      "templateId": {"type": "string"}, "templateVersion": {"type": "integer"}, "output": {"type": ["string", "null"]},
      "error": {"type": ["object", "null"]}, "processedAt": {"$ref": "#/components/schemas/NullableTime"},
      "warnings": {"type": "array", "items": {"$ref": "#/components/schemas/Warning"}, "description": "the render's warnings"}}},
    "finalRequest": {"type": ["object", "null"], "description": "3. what went to the printer (null: nothing was sent)", "properties": {
      "method": {"type": "string"}, "url": {"type": "string"}, "headers": {"type": ["object", "null"], "additionalProperties": {"type": "string"}},
      "body": {"type": "string"}}},
    "systemResponse": {"type": ["object", "null"], "description": "4. the printer's answer to the last attempt, with latency", "properties": {
      "attempts": {"type": "integer"}, "sentAt": {"$ref": "#/components/schemas/NullableTime"}, "status": {"type": "integer"},
      "headers": {"type": ["object", "null"]}, "body": {"type": "string"}, "latencyMs": {"type": "integer"},
      "error": {"type": "string"}}},
    "events": {"type": "array", "items": {"$ref": "#/components/schemas/OrderEvent"}},
    "postbacks": {"type": "array", "items": {"$ref": "#/components/schemas/Postback"}},
    "links": {"type": "object", "properties": {"workflow": {"type": "string", "description": "the order's workflow in the Temporal Web UI"}}}}},
  "OrderEvent": {"type": "object", "required": ["id", "orderId", "eventId", "status", "source", "occurredAt", "recordedAt", "accepted"], "properties": {
    "id": {"type": "integer"}, "orderId": {"type": "string"}, "eventId": {"type": "string"}, "status": {"type": "string"},
    "source": {"enum": ["printer", "system"]}, "occurredAt": {"$ref": "#/components/schemas/Time"},
    "recordedAt": {"$ref": "#/components/schemas/Time"}, "message": {"type": "string"}, "trackingCode": {"type": "string"},
    "trackingUrl": {"type": "string"}, "carrierName": {"type": "string"}, "accepted": {"type": "boolean"},
    "rejectReason": {"type": "string"}}},
  "Postback": {"type": "object", "required": ["id", "orderId", "event", "eventId", "triggerId", "customerId", "method",
      "destination", "format", "status", "attempts", "createdAt", "updatedAt"], "properties": {
    "id": {"type": "string"}, "orderId": {"type": "string"}, "orderReferenceId": {"type": "string"},
    "event": {"type": "string"}, "eventId": {"type": "string"}, "triggerId": {"type": "string"}, "customerId": {"type": "string"},
    "method": {"enum": ["url", "email"]}, "destination": {"type": "string"}, "format": {"type": "string"},
    "templateVersion": {"type": "integer"}, "subject": {"type": "string"},
    "body": {"type": ["string", "null"], "description": "the rendered payload"}, "renderError": {"type": ["object", "null"]},
    "retryOnFailure": {"type": "boolean"}, "isTest": {"type": "boolean"}, "status": {"type": "string"},
    "statusReason": {"type": "string"}, "attempts": {"type": "integer", "description": "attempts made so far"},
    "createdAt": {"$ref": "#/components/schemas/Time"}, "updatedAt": {"$ref": "#/components/schemas/Time"},
    "nextAttemptAt": {"$ref": "#/components/schemas/NullableTime"}}},
  "Attempt": {"type": "object", "required": ["attempt", "trigger", "startedAt", "durationMs", "outcome"], "properties": {
    "attempt": {"type": "integer"}, "trigger": {"enum": ["scheduled", "manual"]}, "startedAt": {"$ref": "#/components/schemas/Time"},
    "durationMs": {"type": "integer"}, "resolvedIp": {"type": "string"},
    "requestHeaders": {"type": ["object", "null"], "additionalProperties": {"type": "string"}, "description": "secrets redacted"},
    "requestBody": {"type": ["string", "null"]}, "responseStatus": {"type": "integer"},
    "responseHeaders": {"type": ["object", "null"], "additionalProperties": {"type": "string"}},
    "responseBody": {"type": ["string", "null"], "description": "first 64 KiB"}, "outcome": {"type": "string"},
    "errorKind": {"type": "string", "description": "dns, connect, tls, timeout, http or smtp"}, "error": {"type": "string"},
    "nextAttemptAt": {"$ref": "#/components/schemas/NullableTime"}}},
  "ResendAccepted": {"type": "object", "required": ["id", "status"], "properties": {
    "id": {"type": "string"}, "status": {"type": "string"}, "series": {"type": "integer"}, "workflowId": {"type": "string"},
    "links": {"type": "object"}}},
  "BulkResendInput": {"type": "object", "required": ["from", "to"], "additionalProperties": false, "properties": {
    "from": {"type": "string", "format": "date-time"}, "to": {"type": "string", "format": "date-time"},
    "status": {"enum": ["failed", "exhausted", "aborted", "delivered"], "description": "default: failed and exhausted"},
    "triggerId": {"type": "string"}}},
  "BulkResendAccepted": {"type": "object", "required": ["queued", "more"], "properties": {
    "queued": {"type": "integer"}, "more": {"type": "boolean"}, "notQueued": {"type": "array", "items": {"type": "string"}}}}
}`
