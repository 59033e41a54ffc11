package mapper

// Events: the printer's received, in_production, shipped, in_transit,
// delivered, failed, canceled, returned, and our delayed (the printer took
// the order and did not ship it within the customer's delayedAfter).
var Events = []string{"received", "in_production", "shipped", "in_transit", "delivered", "failed", "canceled", "returned", "delayed"}

// SamplePostbackContext returns the documented sample context for one event (for "render against a sample" and "send test").
//
// Every postback template sees these keys (the worker builds the same shape
// from the real order and event):
//
//	event              one of Events
//	eventId            the printer's event id (stable across retries)
//	orderId            our order id
//	orderReferenceId   the merchant's order reference
//	printerOrderId     the printer's own id of the order ("" when it gave none)
//	customerId         our customer id
//	created            RFC 3339 time of the event
//	fulfillmentStatus  same as event
//	message            the printer's text, may be ""
//	trackingCode       "" until shipped
//	trackingUrl        "" until shipped
//	carrierName        "" until shipped
//	items              the order's items as the merchant sent them, each with
//	                   an added "fulfillments": [{trackingCode, trackingUrl, carrierName}]
//	                   (empty before shipping)
//	order              the merchant's original parsed request body
//
// The sample order has two items; shipped, in_transit, delivered and returned
// carry one fulfillment per item (same parcel), the other events none.
// Numbers are int64 or float64, as ParseInput produces them. Each call returns
// fresh maps, so callers may modify the result.
func SamplePostbackContext(event string) (map[string]any, bool) {
	s, ok := samples[event]
	if !ok {
		return nil, false
	}
	order := sampleOrder()
	items := sampleOrder()["items"].([]any)
	tracking := s.tracked
	for _, it := range items {
		f := []any{}
		if tracking {
			f = append(f, map[string]any{
				"trackingCode": sampleTrackingCode,
				"trackingUrl":  sampleTrackingURL,
				"carrierName":  sampleCarrier,
			})
		}
		it.(map[string]any)["fulfillments"] = f
	}
	code, url, carrier := "", "", ""
	if tracking {
		code, url, carrier = sampleTrackingCode, sampleTrackingURL, sampleCarrier
	}
	return map[string]any{
		"event":             event,
		"eventId":           "evt_sample_" + event,
		"orderId":           "ord_sample_0001",
		"orderReferenceId":  "ORD-1001",
		"printerOrderId":    "PSP-778812",
		"customerId":        "cus_sample",
		"created":           s.created,
		"fulfillmentStatus": event,
		"message":           s.message,
		"trackingCode":      code,
		"trackingUrl":       url,
		"carrierName":       carrier,
		"items":             items,
		"order":             order,
	}, true
}

const (
	sampleTrackingCode = "00340434161094042557"
	sampleTrackingURL  = "https://tracking.example.com/track?code=00340434161094042557"
	sampleCarrier      = "DHL"
)

var samples = map[string]struct {
	created string
	message string
	tracked bool
}{
	"received":      {"2025-03-14T09:26:53Z", "", false},
	"in_production": {"2025-03-14T13:02:10Z", "Printing started", false},
	"shipped":       {"2025-03-15T08:45:00Z", "Handed over to carrier", true},
	"in_transit":    {"2025-03-15T19:12:31Z", "Arrived at sorting centre", true},
	"delivered":     {"2025-03-17T11:30:00Z", "Delivered to recipient", true},
	"failed":        {"2025-03-14T09:27:40Z", "File could not be downloaded: HTTP 404", false},
	"canceled":      {"2025-03-14T10:05:00Z", "Canceled at the merchant's request", false},
	"returned":      {"2025-03-24T14:20:00Z", "Returned to sender: address unknown", true},
	"delayed":       {"2025-03-16T09:26:53Z", "the printer took the order 48h ago and has not shipped it", false},
}

// sampleOrder is the merchant body the samples were "received" with.
func sampleOrder() map[string]any {
	return map[string]any{
		"orderReferenceId":    "ORD-1001",
		"customerReferenceId": "CUST-42",
		"currency":            "EUR",
		"shipmentMethodUid":   "express",
		"shippingAddress": map[string]any{
			"firstName":    "Ada",
			"lastName":     "Lovelace",
			"addressLine1": "Vesterbrogade 1",
			"city":         "København",
			"postCode":     "1620",
			"country":      "DK",
			"email":        "ada@example.com",
		},
		"items": []any{
			map[string]any{
				"itemReferenceId": "ITEM-1",
				"productUid":      "flyer_a5_170gsm_4-4",
				"quantity":        int64(250),
				"price":           39.9,
				"files":           []any{map[string]any{"type": "default", "url": "https://files.example.com/ord-1001/flyer.pdf"}},
			},
			map[string]any{
				"itemReferenceId": "ITEM-2",
				"productUid":      "poster_a2_200gsm",
				"quantity":        int64(2),
				"price":           12.5,
				"files":           []any{map[string]any{"type": "default", "url": "https://files.example.com/ord-1001/poster.pdf"}},
			},
		},
	}
}
