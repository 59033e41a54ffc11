package service

import (
	oi "orderintake"
	"orderintake/store"
)

// ListFilter is what the Requests and Postbacks lists are filtered and
// paged by. It is the store's query as is (an alias): the pages and the
// API name it here, through the services they call, and no copy of its
// fields has to be kept in step.
type ListFilter = store.ListFilter

// checkRange refuses an empty or inverted [from, to).
func checkRange(f store.ListFilter) error {
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return oi.FieldError("to", "to must be later than from (the range is [from, to))")
	}
	return nil
}

// checkRequestFilter refuses filters the Requests list cannot match, so a
// typo gets a clear problem instead of an empty page.
func checkRequestFilter(f store.ListFilter) error {
	if err := checkRange(f); err != nil {
		return err
	}
	if f.Status != "" {
		return OneOf("status", f.Status, oi.OrderStatuses...)
	}
	return nil
}

func checkPostbackFilter(f store.ListFilter) error {
	if err := checkRange(f); err != nil {
		return err
	}
	if f.Status != "" {
		if err := OneOf("status", f.Status, oi.PostbackStatuses...); err != nil {
			return err
		}
	}
	if f.Event != "" {
		return OneOf("event", f.Event, oi.Events...)
	}
	return nil
}
