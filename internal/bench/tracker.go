package bench

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// orderTrack is what one order went through, as seen from outside: the
// intake client, the printer and the webhook receiver.
type orderTrack struct {
	intakeStart, intakeEnd time.Time
	intakeStatus           int
	intakeErr              string
	printerAt              time.Time
	printerHits            int
	eventSent              []time.Time   // per event: when the printer reported it
	postbacks              [][]time.Time // [event][trigger]: first arrival
	arrived                []int         // per event: distinct triggers arrived
	eventDone              chan int      // event index, once all its postbacks arrived
}

// tracker follows every order of a run. Orders are registered before the
// run, so the printer and receiver only ever look them up.
type tracker struct {
	events   []string
	triggers int

	mu     sync.Mutex
	orders map[string]*orderTrack

	submitted, printed, postbacks, duplicates, strays atomic.Int64
	lastPostback                                      atomic.Int64 // unix nanos
}

func newTracker(events []string, triggers int) *tracker {
	return &tracker{events: events, triggers: triggers, orders: map[string]*orderTrack{}}
}

func (t *tracker) add(id string) *orderTrack {
	o := &orderTrack{eventSent: make([]time.Time, len(t.events)), postbacks: make([][]time.Time, len(t.events)),
		arrived: make([]int, len(t.events)), eventDone: make(chan int, len(t.events))}
	for i := range o.postbacks {
		o.postbacks[i] = make([]time.Time, t.triggers)
	}
	t.mu.Lock()
	t.orders[id] = o
	t.mu.Unlock()
	return o
}

func (t *tracker) get(id string) *orderTrack {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.orders[id]
}

func (t *tracker) eventIndex(name string) int {
	for i, e := range t.events {
		if e == name {
			return i
		}
	}
	return -1
}

// intakeDone records the client's view of one submission.
func (t *tracker) intakeDone(o *orderTrack, start time.Time, status int, err error) {
	end := time.Now()
	t.mu.Lock()
	o.intakeStart, o.intakeEnd, o.intakeStatus = start, end, status
	if err != nil {
		o.intakeErr = err.Error()
	}
	t.mu.Unlock()
	t.submitted.Add(1)
}

// printerGot records the printer receiving an order at now; first says whether it
// is the first request for it (a retry is acknowledged, not produced twice).
func (t *tracker) printerGot(id string, now time.Time) (o *orderTrack, first bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	o = t.orders[id]
	if o == nil {
		t.strays.Add(1)
		return nil, false
	}
	o.printerHits++
	if o.printerHits == 1 {
		o.printerAt = now
		t.printed.Add(1)
		return o, true
	}
	return o, false
}

// postbackGot records one postback arriving at now for (order, event, trigger).
func (t *tracker) postbackGot(id string, ev, trig int, now time.Time) {
	t.mu.Lock()
	o := t.orders[id]
	if o == nil || ev < 0 || ev >= len(t.events) || trig < 0 || trig >= t.triggers {
		t.mu.Unlock()
		t.strays.Add(1)
		return
	}
	if !o.postbacks[ev][trig].IsZero() {
		t.mu.Unlock()
		t.duplicates.Add(1)
		return
	}
	o.postbacks[ev][trig] = now
	o.arrived[ev]++
	complete := o.arrived[ev] == t.triggers
	t.mu.Unlock()
	t.postbacks.Add(1)
	t.lastPostback.Store(now.UnixNano())
	if complete {
		o.eventDone <- ev
	}
}

// report plays the printer's side of one order: each event is reported
// once the postbacks of the previous one arrived (a printer reports minutes
// apart; this keeps an order's own deliveries from queueing behind each
// other, so event-to-postback measures the pipeline, not that queue).
func (t *tracker) report(ctx context.Context, id string, o *orderTrack, send func(ctx context.Context, id string, ev int) error, wait time.Duration) {
	for i := range t.events {
		t.mu.Lock()
		o.eventSent[i] = time.Now()
		t.mu.Unlock()
		// A refused event or postbacks that never come end the report: what
		// is missing is counted as lost at the end.
		if err := send(ctx, id, i); err != nil {
			return
		}
		select {
		case <-o.eventDone:
		case <-time.After(wait):
			return
		case <-ctx.Done():
			return
		}
	}
}

// stageResult is what one run (ours or bare) measured.
type stageResult struct {
	Orders, Postbacks int
	Elapsed           time.Duration
	Intake            []time.Duration
	IntakeToPrinter   []time.Duration
	// PrinterByDue is IntakeToPrinter in the order the orders were due
	// (submitted), to see whether the latency grew through the run.
	PrinterByDue       []time.Duration
	EventToPostback    []time.Duration
	IntakeErrors       int
	LostOrders         int // never reached the printer
	LostPostbacks      int // (order, event, trigger) never delivered
	Duplicates, Strays int64
	FirstError         string
}

// collect turns the tracked orders into a result; start is when the first
// submission began, end when the last postback arrived.
func (t *tracker) collect(start time.Time) stageResult {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := stageResult{Orders: len(t.orders), Duplicates: t.duplicates.Load(), Strays: t.strays.Load()}
	type due struct {
		at  time.Time
		lat time.Duration
	}
	var byDue []due
	for _, o := range t.orders {
		if o.intakeErr != "" || o.intakeStatus/100 != 2 {
			r.IntakeErrors++
			if r.FirstError == "" {
				r.FirstError = o.intakeErr
			}
		} else {
			r.Intake = append(r.Intake, o.intakeEnd.Sub(o.intakeStart))
		}
		if o.printerAt.IsZero() {
			r.LostOrders++
		} else {
			r.IntakeToPrinter = append(r.IntakeToPrinter, o.printerAt.Sub(o.intakeStart))
			byDue = append(byDue, due{o.intakeStart, o.printerAt.Sub(o.intakeStart)})
		}
		for ev := range t.events {
			for trig := 0; trig < t.triggers; trig++ {
				at := o.postbacks[ev][trig]
				if at.IsZero() {
					r.LostPostbacks++
					continue
				}
				r.Postbacks++
				r.EventToPostback = append(r.EventToPostback, at.Sub(o.eventSent[ev]))
			}
		}
	}
	if last := t.lastPostback.Load(); last > 0 {
		r.Elapsed = time.Unix(0, last).Sub(start)
	}
	slices.SortFunc(byDue, func(a, b due) int { return a.at.Compare(b.at) })
	for _, d := range byDue {
		r.PrinterByDue = append(r.PrinterByDue, d.lat)
	}
	return r
}
