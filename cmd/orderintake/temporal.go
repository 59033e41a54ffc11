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

// makeDataDir creates the data dir and returns its absolute path.
func (c *config) makeDataDir() (string, error) {
	dir, err := filepath.Abs(c.DataDir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create data dir: %w", err)
	}
	return dir, nil
}

// orderSearchAttributes are the keyword attributes every order workflow carries.
func orderSearchAttributes() map[string]enums.IndexedValueType {
	attrs := map[string]enums.IndexedValueType{}
	for _, n := range workflows.SearchAttributeNames {
		attrs[n] = enums.INDEXED_VALUE_TYPE_KEYWORD
	}
	return attrs
}

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
	dataDir, err := c.makeDataDir()
	if err != nil {
		return err
	}
	uiAddr := c.TemporalUIAddr
	if uiAddr == "off" {
		uiAddr = ""
	}
	stack, err := devstack.Start(ctx, devstack.Options{DataDir: dataDir, FrontendAddr: c.TemporalAddr, UIAddr: uiAddr,
		Namespace: c.Namespace, SearchAttributes: orderSearchAttributes(), Logger: log})
	if err != nil {
		return fmt.Errorf("start embedded temporal: %w", err)
	}
	defer stack.Stop()
	log.Info("temporal server ready", "frontend", stack.FrontendAddress(), "ui", stack.UIURL(), "dataDir", dataDir)
	<-ctx.Done()
	return nil
}
