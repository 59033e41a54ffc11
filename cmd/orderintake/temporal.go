package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"go.temporal.io/api/enums/v1"

	"orderintake/worker/devstack"
	"orderintake/workflows"
)

// runTemporal runs only the embedded Temporal server (and its Web UI unless
// ORDERINTAKE_TEMPORAL_UI_ADDR=off) on TEMPORAL_ADDRESS, with its SQLite file
// in the data dir: a stand-alone frontend for `orderintake api` and
// `orderintake worker` processes, e.g. in the fault tests, which stop and
// restart it under them.
func runTemporal(ctx context.Context, log *slog.Logger) error {
	c, err := loadConfig(true)
	if err != nil {
		return err
	}
	dataDir, err := filepath.Abs(c.DataDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	uiAddr := c.TemporalUIAddr
	if uiAddr == "off" {
		uiAddr = ""
	}
	attrs := map[string]enums.IndexedValueType{}
	for _, n := range workflows.SearchAttributeNames {
		attrs[n] = enums.INDEXED_VALUE_TYPE_KEYWORD
	}
	stack, err := devstack.Start(ctx, devstack.Options{DataDir: dataDir, FrontendAddr: c.TemporalAddr, UIAddr: uiAddr,
		Namespace: c.Namespace, SearchAttributes: attrs, Logger: log})
	if err != nil {
		return fmt.Errorf("start embedded temporal: %w", err)
	}
	defer stack.Stop()
	log.Info("temporal server ready", "frontend", stack.FrontendAddress(), "ui", stack.UIURL(), "dataDir", dataDir)
	<-ctx.Done()
	return nil
}
