package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"orderintake/internal/bench"
	"orderintake/internal/pgcluster"
	"orderintake/worker/devstack"
)

const benchUsage = `usage: orderintake bench [flags]          the journey, against a bare-Temporal floor
       orderintake bench goals [flags]    issue 14's goals: capacity, sustained paced capacity, paced at 80 % of it, 10 and 100 triggers; one table
       orderintake bench history [flags]  admin list queries over a synthetic history

bench starts what it needs unless told where it is: the embedded Temporal
server (SQLite, as dev), a private PostgreSQL, the worker and the API; the
server, the worker and the API each run as a child process of this binary.
The harness (intake clients, a printer and a webhook receiver on loopback)
runs in the bench process. It prints one table (or JSON) and exits
non-zero on any loss.

flags:
`

// benchStack is the Temporal server and database a bench runs against:
// the caller's (flags), else embedded ones under a temporary directory.
type benchStack struct {
	dir, temporalAddr, databaseURL, desc string
	// temporalPID is the embedded server's own process (0: none, it runs
	// in this process or elsewhere).
	temporalPID int
	stops       []func()
}

func (s *benchStack) stop() {
	for i := len(s.stops) - 1; i >= 0; i-- {
		s.stops[i]()
	}
}

// stackOptions say what startBenchStack brings up.
type stackOptions struct {
	temporalAddr, databaseURL, dbName string
	needTemporal, temporalMemory      bool
	// temporalInBench runs the embedded server in this process instead of
	// a child process of its own (`orderintake bench temporal-server`).
	temporalInBench bool
	tuning          devstack.Tuning
}

func startBenchStack(ctx context.Context, log *slog.Logger, so stackOptions) (*benchStack, error) {
	dir, err := os.MkdirTemp("", "orderintake-bench-")
	if err != nil {
		return nil, fmt.Errorf("bench: data dir: %w", err)
	}
	s := &benchStack{dir: dir, temporalAddr: so.temporalAddr, databaseURL: so.databaseURL}
	pgDesc, tDesc := "PostgreSQL at --database-url", "Temporal at "+so.temporalAddr
	if so.databaseURL == "" {
		pg, err := pgcluster.Start(ctx, pgcluster.Options{Dir: filepath.Join(dir, "postgres"), Logger: log})
		if err != nil {
			return s, err
		}
		s.stops = append(s.stops, func() {
			if err := pg.Stop(); err != nil {
				log.Warn("stop bench postgres", "error", err)
			}
		})
		if err := pg.CreateDatabase(ctx, so.dbName); err != nil {
			return s, err
		}
		s.databaseURL, pgDesc = pg.URL(so.dbName), "private PostgreSQL (as dev)"
	}
	if so.needTemporal && so.temporalAddr == "" {
		kind := "SQLite file, as dev"
		if so.temporalMemory {
			kind = "SQLite in memory"
		}
		where := "its own process"
		if so.temporalInBench {
			where = "the bench process"
		}
		tDesc = "embedded Temporal (" + kind + tuningDesc(so.tuning) + ", in " + where + ")"
		if so.temporalInBench {
			dopts := devstack.Options{DataDir: dir, FrontendAddr: "127.0.0.1:0", SearchAttributes: orderSearchAttributes(),
				Logger: log, Tuning: so.tuning}
			if so.temporalMemory {
				dopts.DataDir = ""
			}
			stack, err := devstack.Start(ctx, dopts)
			if err != nil {
				return s, fmt.Errorf("bench: start embedded temporal (or pass --temporal-address): %w", err)
			}
			s.stops = append(s.stops, stack.Stop)
			s.temporalAddr = stack.FrontendAddress()
		} else {
			addr, pid, stop, err := startTemporalChild(ctx, log, dir, so.temporalMemory, so.tuning)
			if err != nil {
				return s, err
			}
			s.stops = append(s.stops, stop)
			s.temporalAddr, s.temporalPID = addr, pid
		}
	}
	s.desc = tDesc + ", " + pgDesc
	if !so.needTemporal {
		s.desc = pgDesc
	}
	return s, nil
}

// startTemporalChild runs the embedded server as `orderintake bench
// temporal-server` in a process of its own (its CPU is then metered apart
// from the harness's), logging to dir/temporal.log, and returns its
// frontend address once it is ready.
func startTemporalChild(ctx context.Context, log *slog.Logger, dir string, memory bool, t devstack.Tuning) (addr string, pid int, stop func(), err error) {
	exe, err := os.Executable()
	if err != nil {
		return "", 0, nil, fmt.Errorf("bench: find this binary to start the Temporal server: %w", err)
	}
	args := append([]string{"bench", "temporal-server", "--data-dir", dir}, tuningArgs(t)...)
	if memory {
		args = append(args, "--temporal-memory")
	}
	logf, err := os.Create(filepath.Join(dir, "temporal.log"))
	if err != nil {
		return "", 0, nil, fmt.Errorf("bench: temporal log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(exe, args...)
	cmd.Stderr = logf
	// Own process group: a Ctrl-C on the bench must not stop the server
	// before the bench has collected its numbers.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", 0, nil, fmt.Errorf("bench: temporal server: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return "", 0, nil, fmt.Errorf("bench: start temporal server: %w", err)
	}
	exited := make(chan struct{})
	var waitErr error
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), temporalReadyPrefix); ok {
				ready <- a
			}
		}
		waitErr = cmd.Wait()
		close(exited)
	}()
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			log.Warn("bench: temporal server did not stop within 30 s: killed")
		}
	}
	select {
	case addr = <-ready:
		log.Info("temporal server ready in its own process", "pid", cmd.Process.Pid, "frontend", addr)
		return addr, cmd.Process.Pid, stop, nil
	case <-exited:
		return "", 0, nil, fmt.Errorf("bench: temporal server exited: %v (log in %s)", waitErr, logf.Name())
	case <-time.After(2 * time.Minute):
		stop()
		return "", 0, nil, fmt.Errorf("bench: temporal server not ready within 2 minutes (log in %s)", logf.Name())
	case <-ctx.Done():
		stop()
		return "", 0, nil, ctx.Err()
	}
}

// temporalReadyPrefix starts the line `bench temporal-server` prints on
// stdout once its frontend answers.
const temporalReadyPrefix = "temporal ready at "

// runBenchTemporalServer is the embedded server in a process of its own,
// started by the bench (not for use by hand: `orderintake temporal` is).
func runBenchTemporalServer(ctx context.Context, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("bench temporal-server", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "", "directory of temporal.db")
	memory := fs.Bool("temporal-memory", false, "keep SQLite in memory")
	var t devstack.Tuning
	tuningFlags(fs, &t)
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	o := devstack.Options{DataDir: *dataDir, FrontendAddr: "127.0.0.1:0", SearchAttributes: orderSearchAttributes(),
		Logger: log, Tuning: t}
	if *memory {
		o.DataDir = ""
	}
	stack, err := devstack.Start(ctx, o)
	if err != nil {
		return fmt.Errorf("start embedded temporal: %w", err)
	}
	defer stack.Stop()
	log.Info("bench temporal server ready", "frontend", stack.FrontendAddress(), "memory", *memory, "shards", t.HistoryShards,
		"partitions", t.TaskQueuePartitions, "allVisibilityIndexes", t.AllVisibilityIndexes, "gogc", t.GCPercent, "synchronous", t.Synchronous)
	fmt.Println(temporalReadyPrefix + stack.FrontendAddress())
	<-ctx.Done()
	return nil
}

// tuningDesc names the server settings that differ from dev's.
func tuningDesc(t devstack.Tuning) string {
	var b strings.Builder
	if t.HistoryShards > 1 {
		fmt.Fprintf(&b, ", %d history shards", t.HistoryShards)
	}
	if t.TaskQueuePartitions > 0 {
		fmt.Fprintf(&b, ", %d task queue partitions", t.TaskQueuePartitions)
	}
	if t.AllVisibilityIndexes {
		b.WriteString(", all visibility indexes")
	}
	if t.GCPercent > 0 {
		fmt.Fprintf(&b, ", GOGC=%d", t.GCPercent)
	}
	if t.Synchronous != "" && t.Synchronous != "normal" {
		b.WriteString(", synchronous=" + t.Synchronous)
	}
	return b.String()
}

// tuningFlags adds the embedded server's levers to a flag set.
func tuningFlags(fs *flag.FlagSet, t *devstack.Tuning) {
	fs.IntVar(&t.HistoryShards, "temporal-shards", 1, "embedded server: history shards")
	fs.IntVar(&t.TaskQueuePartitions, "temporal-partitions", 0, "embedded server: partitions per task queue (0: the server's default, 4)")
	fs.BoolVar(&t.AllVisibilityIndexes, "temporal-all-visibility-indexes", false,
		"embedded server: keep all 58 indexes of the stock visibility schema (dev keeps only the indexes a query of ours or a mapped search attribute uses)")
	fs.IntVar(&t.GCPercent, "temporal-gogc", 0, "embedded server: Go GC target of the process it runs in (its own; the bench's with --temporal-in-bench or --in-process) (0: leave GOGC as it is)")
	fs.StringVar(&t.Synchronous, "temporal-synchronous", "normal", "embedded server: SQLite synchronous pragma of the file database (normal, full, off)")
}

// tuningArgs are the flags of tuningFlags that set t: how the bench hands
// the levers to the server's own process.
func tuningArgs(t devstack.Tuning) []string {
	args := []string{"--temporal-shards=" + strconv.Itoa(t.HistoryShards), "--temporal-partitions=" + strconv.Itoa(t.TaskQueuePartitions),
		"--temporal-gogc=" + strconv.Itoa(t.GCPercent)}
	if t.AllVisibilityIndexes {
		args = append(args, "--temporal-all-visibility-indexes")
	}
	if t.Synchronous != "" {
		args = append(args, "--temporal-synchronous="+t.Synchronous)
	}
	return args
}

// journeyFlags are the flags `bench` and `bench goals` share: where the
// stack is, how the product runs, the clients, the server's levers.
type journeyFlags struct {
	o                               bench.Options
	temporalAddr, databaseURL       string
	temporalMemory, inProcess, keep bool
	temporalInBench                 bool
	cpuProfile, workerCPUProfile    string
	tuning                          devstack.Tuning
}

func (j *journeyFlags) add(fs *flag.FlagSet) {
	fs.IntVar(&j.o.Concurrency, "concurrency", 50, "concurrent intake clients")
	fs.IntVar(&j.o.Warmup, "warmup", 100, "orders run first and left out of the numbers")
	fs.StringVar(&j.temporalAddr, "temporal-address", "", "bench this Temporal frontend instead of an embedded server")
	fs.StringVar(&j.databaseURL, "database-url", "", "bench this PostgreSQL database instead of a private cluster (bench rows stay in it)")
	fs.BoolVar(&j.temporalMemory, "temporal-memory", false, "keep the embedded server's SQLite in memory instead of a file (as dev)")
	fs.StringVar(&j.o.Namespace, "namespace", env("TEMPORAL_NAMESPACE", "default"), "Temporal namespace")
	fs.BoolVar(&j.inProcess, "in-process", false, "run worker, API and the embedded Temporal server in this process, as dev (one process: its memory and CPU are measured together with the harness's)")
	fs.BoolVar(&j.temporalInBench, "temporal-in-bench", false, "run the embedded Temporal server in this process instead of its own (its CPU is then measured together with the harness's)")
	fs.StringVar(&j.o.BareShape, "bare-shape", "naive", "the floor's shape: naive (a regular activity per stage), local (local activities for the database stages, as OrderWorkflow), merged (fewer local activities), lafirst (deliveries as local activities too)")
	fs.BoolVar(&j.keep, "keep", false, "keep the temporary directory (worker and API logs, databases)")
	fs.StringVar(&j.cpuProfile, "cpuprofile", "", "write a CPU profile of this process (the harness; with --temporal-in-bench also the Temporal server, with --in-process also worker, API and server) to this file")
	fs.StringVar(&j.workerCPUProfile, "worker-cpuprofile", "", "write a CPU profile of the worker process to this file (each run's worker overwrites it)")
	tuningFlags(fs, &j.tuning)
}

// start brings up the stack and fills in the options; stop undoes it.
func (j *journeyFlags) start(ctx context.Context, log *slog.Logger) (o bench.Options, stop func(failed bool), err error) {
	if j.workerCPUProfile != "" && j.inProcess {
		return o, nil, errors.New("bench: --worker-cpuprofile needs the worker in its own process; with --in-process, --cpuprofile covers it")
	}
	st, err := startBenchStack(ctx, log, stackOptions{temporalAddr: j.temporalAddr, databaseURL: j.databaseURL, dbName: "orderintake_bench",
		needTemporal: true, temporalMemory: j.temporalMemory, temporalInBench: j.temporalInBench || j.inProcess, tuning: j.tuning})
	stop = func(failed bool) {
		if st == nil {
			return
		}
		st.stop()
		if j.keep || failed {
			log.Info("bench files kept", "dir", st.dir)
		} else {
			_ = os.RemoveAll(st.dir)
		}
	}
	if err != nil {
		stop(true)
		return o, nil, err
	}
	o = j.o
	o.TemporalAddr, o.DatabaseURL, o.Stack, o.ExternalTemporal = st.temporalAddr, st.databaseURL, st.desc, j.temporalAddr != ""
	o.TemporalPID = st.temporalPID
	o.Progress, o.Logger = os.Stderr, log
	if j.inProcess {
		o.Start = bench.InProcess
	} else {
		exe, xerr := os.Executable()
		if xerr != nil {
			stop(true)
			return o, nil, fmt.Errorf("bench: find this binary to start the worker and API: %w", xerr)
		}
		o.Start = bench.Children(exe, st.dir)
		if j.workerCPUProfile != "" {
			path, perr := filepath.Abs(j.workerCPUProfile)
			if perr != nil {
				stop(true)
				return o, nil, fmt.Errorf("bench: worker cpu profile: %w", perr)
			}
			o.Start = bench.ChildrenWithWorker(exe, st.dir, "bench", "profiled-worker", path)
		}
	}
	if j.cpuProfile != "" {
		f, perr := os.Create(j.cpuProfile)
		if perr != nil {
			stop(true)
			return o, nil, fmt.Errorf("bench: cpu profile: %w", perr)
		}
		if perr := pprof.StartCPUProfile(f); perr != nil {
			f.Close()
			stop(true)
			return o, nil, fmt.Errorf("bench: cpu profile: %w", perr)
		}
		inner := stop
		stop = func(failed bool) {
			pprof.StopCPUProfile()
			f.Close()
			inner(failed)
		}
	}
	return o, stop, nil
}

func runBench(ctx context.Context, log *slog.Logger, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "history":
			return runBenchHistory(ctx, log, args[1:])
		case "goals":
			return runBenchGoals(ctx, log, args[1:])
		case "profiled-worker":
			return runProfiledWorker(ctx, log, args[1:])
		case "temporal-server":
			return runBenchTemporalServer(ctx, log, args[1:])
		}
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), benchUsage); fs.PrintDefaults() }
	var j journeyFlags
	j.add(fs)
	fs.IntVar(&j.o.Orders, "orders", 1000, "orders measured")
	fs.IntVar(&j.o.Events, "events", 4, "printer events per order, 1 to 5 (the last is delivered)")
	fs.IntVar(&j.o.Triggers, "triggers", 1, "webhook triggers per event (each its own destination)")
	fs.Float64Var(&j.o.Rate, "rate", 0, "pace intake at this many orders/s over all clients (0: each client sends as soon as answered)")
	jsonOut := fs.Bool("json", false, "print the report as JSON on stdout")
	fs.BoolVar(&j.o.SkipBare, "no-bare", false, "leave out the bare-workflow floor")
	fs.BoolVar(&j.o.BareOnly, "bare-only", false, "run only the bare floor (to study the Temporal server's share)")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	o, stop, err := j.start(ctx, log)
	if err != nil {
		return err
	}
	defer func() { stop(err != nil) }()
	t0 := time.Now()
	rep, err := bench.Run(ctx, o)
	if err != nil {
		return err
	}
	log.Info("bench done", "took", time.Since(t0).Round(time.Second))
	if *jsonOut {
		if err = printJSON(rep); err != nil {
			return err
		}
	} else {
		rep.WriteTable(os.Stdout)
	}
	return rep.Lossless()
}

// runBenchGoals runs issue 14's sequence and prints each run's table, then
// one table of figure, target, measured and met. It exits non-zero on any
// loss, never on a goal missed (the table says that).
func runBenchGoals(ctx context.Context, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("bench goals", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), benchUsage); fs.PrintDefaults() }
	var j journeyFlags
	j.add(fs)
	var g bench.GoalOptions
	fs.IntVar(&g.CapacityOrders, "capacity-orders", 1000, "orders of the capacity run (4 events × 1 trigger, unpaced, against the bare floor; the worker RSS goal is at 1000)")
	fs.IntVar(&g.PacedOrders, "paced-orders", 400, "orders of the run paced at --paced-share of the capacity measured")
	fs.Float64Var(&g.PacedShare, "paced-share", 0.8, "the paced run's rate as a share of the capacity (--paced-basis)")
	fs.StringVar(&g.PacedBasis, "paced-basis", bench.PacedSustained, "the capacity the paced run is a share of: sustained (the highest paced rate the search finds the stack keeps up with) or unpaced (the capacity run's orders/s, no search)")
	fs.Float64Var(&g.SearchStart, "search-start", 0.5, "sustained-capacity search: first rate, as a share of the unpaced capacity")
	fs.Float64Var(&g.SearchStep, "search-step", 0.1, "sustained-capacity search: step up (or down), as a share of the unpaced capacity")
	fs.Float64Var(&g.SearchMax, "search-max", 1, "sustained-capacity search: highest rate tried, as a share of the unpaced capacity (a sustained capacity there is a lower bound)")
	fs.IntVar(&g.SearchRefine, "search-refine", 1, "sustained-capacity search: bisections between the highest rate kept up and the lowest not")
	fs.Float64Var(&g.SearchSeconds, "search-seconds", 20, "sustained-capacity search: seconds of intake per step (orders = rate × seconds)")
	fs.IntVar(&g.SearchMinOrders, "search-min-orders", 100, "sustained-capacity search: orders per step at least")
	fs.BoolVar(&g.PacedUnpacedRun, "paced-unpaced-run", false, "also run --paced-orders at --paced-share of the unpaced capacity and print what it gave (for reference; adds ~30-60 s)")
	fs.IntVar(&g.TenOrders, "ten-orders", 150, "orders of the 10-triggers-per-event run (against the bare floor)")
	fs.IntVar(&g.HundredOrders, "hundred-orders", 20, "orders of the 100-triggers-per-event run (postbacks/s)")
	jsonOut := fs.Bool("json", false, "print the report (every run, every goal) as JSON on stdout")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	o, stop, err := j.start(ctx, log)
	if err != nil {
		return err
	}
	defer func() { stop(err != nil) }()
	g.Options = o
	rep, err := bench.Goals(ctx, g, func(r bench.GoalRun) {
		log.Info("bench goals: run done", "run", r.Name)
		if r.Step != nil {
			if !*jsonOut {
				kept := "kept up"
				if !r.Step.KeptUp {
					kept = "did not keep up"
				}
				fmt.Printf("\n== %s (%d orders): %s: %s ==\n", r.Name, r.Step.Orders, kept, r.Step.Why)
			}
			return
		}
		if !*jsonOut {
			fmt.Printf("\n== %s run ==\n", r.Name)
			r.Report.WriteTable(os.Stdout)
		}
	})
	if err != nil {
		return err
	}
	if *jsonOut {
		return printJSON(rep)
	}
	fmt.Println()
	rep.WriteTable(os.Stdout)
	return nil
}

// runProfiledWorker is `orderintake worker` under a CPU profile: the
// bench's --worker-cpuprofile starts the worker child this way.
func runProfiledWorker(ctx context.Context, log *slog.Logger, args []string) error {
	if len(args) != 1 {
		return errors.New("usage: orderintake bench profiled-worker FILE (started by bench --worker-cpuprofile)")
	}
	f, err := os.Create(args[0])
	if err != nil {
		return fmt.Errorf("worker cpu profile: %w", err)
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return fmt.Errorf("worker cpu profile: %w", err)
	}
	defer pprof.StopCPUProfile()
	return runWorker(ctx, log)
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
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	st, err := startBenchStack(ctx, log, stackOptions{databaseURL: *databaseURL, dbName: "orderintake_history"})
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
		return printJSON(rep)
	}
	rep.WriteTable(os.Stdout, *explain)
	return nil
}

// parseFlags parses a bench command's flags; help is true when -h asked for
// the usage (printed already), which is no error.
func parseFlags(fs *flag.FlagSet, args []string) (help bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return false, err
	}
	return false, nil
}

// printJSON prints a report as indented JSON on stdout.
func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
