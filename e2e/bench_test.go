//go:build !nodev

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"orderintake/internal/bench"
	"orderintake/internal/pgtest"
)

// TestBenchSmoke runs `orderintake bench` at a small size on the embedded
// server: every order must reach the printer, every postback its receiver,
// the database and Temporal must agree, and the bare floor must finish.
// It asserts completion and zero loss, never timing.
func TestBenchSmoke(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := bench.Run(ctx, bench.Options{Orders: 120, Concurrency: 20, Events: 4, Triggers: 2, Warmup: 5,
		TemporalAddr: sharedStack(t), DatabaseURL: pgtest.URL(t), Stack: "e2e shared stack", Start: bench.InProcess,
		Stall: 45 * time.Second, Logger: quietLogger})
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	rep.WriteTable(&table)
	t.Log("\n" + table.String())
	if err := rep.Lossless(); err != nil {
		t.Fatal(err)
	}
	if rep.Bare == nil || rep.Bare.Postbacks != 120*4*2 {
		t.Fatalf("bare floor did not complete: %+v", rep.Bare)
	}
	if rep.Ours.Duplicates != 0 {
		t.Errorf("%d postbacks delivered twice", rep.Ours.Duplicates)
	}
}
