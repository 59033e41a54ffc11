package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"go.temporal.io/api/enums/v1"

	"orderintake/internal/bench"
	"orderintake/internal/pgcluster"
	"orderintake/worker/devstack"
	"orderintake/workflows"
)

const benchUsage = `usage: orderintake bench [flags]          the journey, against a bare-Temporal floor
       orderintake bench history [flags]  admin list queries over a synthetic history

bench starts what it needs unless told where it is: the embedded Temporal
server (SQLite, as dev), a private PostgreSQL, the worker and the API as
child processes of this binary, and a printer and webhook receiver on
loopback. It prints one table (or JSON) and exits non-zero on any loss.

flags:
`

// benchStack is the Temporal server and database a bench runs against:
// the caller's (flags), else embedded ones under a temporary directory.
type benchStack struct {
	dir, temporalAddr, databaseURL, desc string
	stops                                []func()
}

func (s *benchStack) stop() {
	for i := len(s.stops) - 1; i >= 0; i-- {
		s.stops[i]()
	}
}

func startBenchStack(ctx context.Context, log *slog.Logger, temporalAddr, databaseURL, dbName string, needTemporal, temporalMemory bool) (*benchStack, error) {
	dir, err := os.MkdirTemp("", "orderintake-bench-")
	if err != nil {
		return nil, fmt.Errorf("bench: data dir: %w", err)
	}
	s := &benchStack{dir: dir, temporalAddr: temporalAddr, databaseURL: databaseURL}
	pgDesc, tDesc := "PostgreSQL at --database-url", "Temporal at "+temporalAddr
	if databaseURL == "" {
		pg, err := pgcluster.Start(ctx, pgcluster.Options{Dir: filepath.Join(dir, "postgres"), Logger: log})
		if err != nil {
			return s, err
		}
		s.stops = append(s.stops, func() {
			if err := pg.Stop(); err != nil {
				log.Warn("stop bench postgres", "error", err)
			}
		})
		if err := pg.CreateDatabase(ctx, dbName); err != nil {
			return s, err
		}
		s.databaseURL, pgDesc = pg.URL(dbName), "private PostgreSQL (as dev)"
	}
	if needTemporal && temporalAddr == "" {
		attrs := map[string]enums.IndexedValueType{}
		for _, n := range workflows.SearchAttributeNames {
			attrs[n] = enums.INDEXED_VALUE_TYPE_KEYWORD
		}
		so := devstack.Options{DataDir: dir, FrontendAddr: "127.0.0.1:0", SearchAttributes: attrs, Logger: log}
		tDesc = "embedded Temporal (SQLite file, as dev)"
		if temporalMemory {
			so.DataDir, tDesc = "", "embedded Temporal (SQLite in memory)"
		}
		stack, err := devstack.Start(ctx, so)
		if err != nil {
			return s, fmt.Errorf("bench: start embedded temporal (or pass --temporal-address): %w", err)
		}
		s.stops = append(s.stops, stack.Stop)
		s.temporalAddr = stack.FrontendAddress()
	}
	s.desc = tDesc + ", " + pgDesc
	if !needTemporal {
		s.desc = pgDesc
	}
	return s, nil
}

func runBench(ctx context.Context, log *slog.Logger, args []string) error {
	if len(args) > 0 && args[0] == "history" {
		return runBenchHistory(ctx, log, args[1:])
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), benchUsage); fs.PrintDefaults() }
	var o bench.Options
	fs.IntVar(&o.Orders, "orders", 1000, "orders measured")
	fs.IntVar(&o.Concurrency, "concurrency", 50, "concurrent intake clients")
	fs.IntVar(&o.Events, "events", 4, "printer events per order, 1 to 5 (the last is delivered)")
	fs.IntVar(&o.Triggers, "triggers", 1, "webhook triggers per event (each its own destination)")
	fs.IntVar(&o.Warmup, "warmup", 100, "orders run first and left out of the numbers")
	fs.Float64Var(&o.Rate, "rate", 0, "pace intake at this many orders/s over all clients (0: each client sends as soon as answered)")
	temporalAddr := fs.String("temporal-address", "", "bench this Temporal frontend instead of an embedded server")
	databaseURL := fs.String("database-url", "", "bench this PostgreSQL database instead of a private cluster (bench rows stay in it)")
	temporalMemory := fs.Bool("temporal-memory", false, "keep the embedded server's SQLite in memory instead of a file (as dev)")
	fs.StringVar(&o.Namespace, "namespace", env("TEMPORAL_NAMESPACE", "default"), "Temporal namespace")
	jsonOut := fs.Bool("json", false, "print the report as JSON on stdout")
	inProcess := fs.Bool("in-process", false, "run worker and API in this process (their memory is then measured together with everything else)")
	fs.BoolVar(&o.SkipBare, "no-bare", false, "leave out the bare-workflow floor")
	fs.BoolVar(&o.BareOnly, "bare-only", false, "run only the bare floor (to study the Temporal server's share)")
	fs.StringVar(&o.BareShape, "bare-shape", "naive", "the floor's shape: naive (a regular activity per stage), local (local activities for the database stages, as OrderWorkflow), merged (fewer local activities), lafirst (deliveries as local activities too)")
	keep := fs.Bool("keep", false, "keep the temporary directory (worker and API logs, databases)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of this process (embedded Temporal server, clients) to this file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	st, err := startBenchStack(ctx, log, *temporalAddr, *databaseURL, "orderintake_bench", true, *temporalMemory)
	if st != nil {
		defer func() {
			st.stop()
			if *keep || err != nil {
				log.Info("bench files kept", "dir", st.dir)
			} else {
				_ = os.RemoveAll(st.dir)
			}
		}()
	}
	if err != nil {
		return err
	}
	o.TemporalAddr, o.DatabaseURL, o.Stack, o.ExternalTemporal = st.temporalAddr, st.databaseURL, st.desc, *temporalAddr != ""
	o.Progress, o.Logger = os.Stderr, log
	if *inProcess {
		o.Start = bench.InProcess
	} else {
		exe, xerr := os.Executable()
		if xerr != nil {
			return fmt.Errorf("bench: find this binary to start the worker and API: %w", xerr)
		}
		o.Start = bench.Children(exe, st.dir)
	}
	if *cpuProfile != "" {
		f, perr := os.Create(*cpuProfile)
		if perr != nil {
			return fmt.Errorf("bench: cpu profile: %w", perr)
		}
		defer f.Close()
		if perr := pprof.StartCPUProfile(f); perr != nil {
			return fmt.Errorf("bench: cpu profile: %w", perr)
		}
		defer pprof.StopCPUProfile()
	}
	t0 := time.Now()
	rep, err := bench.Run(ctx, o)
	if err != nil {
		return err
	}
	log.Info("bench done", "took", time.Since(t0).Round(time.Second))
	if *jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err = enc.Encode(rep); err != nil {
			return err
		}
	} else {
		rep.WriteTable(os.Stdout)
	}
	if o.BareOnly {
		return nil
	}
	err = rep.Lossless()
	return err
}

func runBenchHistory(ctx context.Context, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("bench history", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), benchUsage); fs.PrintDefaults() }
	var o bench.HistoryOptions
	fs.IntVar(&o.Orders, "orders", 1_000_000, "synthetic order requests")
	fs.IntVar(&o.PostbacksPerOrder, "postbacks-per-order", 3, "synthetic postbacks per order (3: 3,000,000 for a million orders)")
	fs.IntVar(&o.Customers, "customers", 100, "customers the orders are spread over")
	fs.IntVar(&o.Days, "days", 90, "days the orders are spread over, up to now")
	fs.IntVar(&o.Reps, "reps", 200, "timed calls per query")
	databaseURL := fs.String("database-url", "", "an empty PostgreSQL database to load (default: a private cluster)")
	fs.BoolVar(&o.Reuse, "reuse", false, "with --database-url: skip the load when the database already holds this history")
	jsonOut := fs.Bool("json", false, "print the report as JSON on stdout")
	explain := fs.Bool("explain", false, "print every query's EXPLAIN ANALYZE after the table")
	keep := fs.Bool("keep", false, "keep the private cluster's directory")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	st, err := startBenchStack(ctx, log, "", *databaseURL, "orderintake_history", false, false)
	if st != nil {
		defer func() {
			st.stop()
			if *keep {
				log.Info("bench files kept", "dir", st.dir)
			} else {
				_ = os.RemoveAll(st.dir)
			}
		}()
	}
	if err != nil {
		return err
	}
	o.DatabaseURL, o.Progress, o.Logger = st.databaseURL, os.Stderr, log
	rep, err := bench.History(ctx, o)
	if err != nil {
		return err
	}
	if *jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	rep.WriteTable(os.Stdout, *explain)
	return nil
}
