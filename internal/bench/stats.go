package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Dist is a latency distribution in milliseconds.
type Dist struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50Ms"`
	P95 float64 `json:"p95Ms"`
	P99 float64 `json:"p99Ms"`
	Max float64 `json:"maxMs"`
}

// distOf summarises samples (nearest-rank percentiles).
func distOf(samples []time.Duration) Dist {
	if len(samples) == 0 {
		return Dist{}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	rank := func(q float64) float64 {
		i := int(math.Ceil(q*float64(len(s)))) - 1
		return ms(s[max(i, 0)])
	}
	return Dist{N: len(s), P50: rank(0.50), P95: rank(0.95), P99: rank(0.99), Max: ms(s[len(s)-1])}
}

// quarterP50s are the medians of the first and the last quarter of
// samples taken in order (0, 0 for fewer than 8 samples): a latency that
// grows through a run is a queue the run did not keep up with.
func quarterP50s(inOrder []time.Duration) (first, last float64) {
	q := len(inOrder) / 4
	if q < 2 {
		return 0, 0
	}
	return distOf(inOrder[:q]).P50, distOf(inOrder[len(inOrder)-q:]).P50
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Millisecond)*10) / 10 }

// rssSampler records the peak resident set of processes while it runs:
// VmRSS sampled every 200 ms (VmHWM would include start-up and warm-up).
type rssSampler struct {
	mu   sync.Mutex
	peak map[int]int64 // pid -> bytes
	stop chan struct{}
	done chan struct{}
}

func startRSS(pids ...int) *rssSampler {
	r := &rssSampler{peak: map[int]int64{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			for _, pid := range pids {
				if v, err := procStatus(pid, "VmRSS"); err == nil {
					r.mu.Lock()
					r.peak[pid] = max(r.peak[pid], v)
					r.mu.Unlock()
				}
			}
			select {
			case <-r.stop:
				return
			case <-t.C:
			}
		}
	}()
	return r
}

// Stop ends sampling and returns the peak per pid in MiB.
func (r *rssSampler) Stop() map[int]float64 {
	close(r.stop)
	<-r.done
	out := map[int]float64{}
	for pid, b := range r.peak {
		out[pid] = math.Round(float64(b)/(1<<20)*10) / 10
	}
	return out
}

// procStatus reads one "kB" field of /proc/<pid>/status, in bytes.
func procStatus(pid int, field string) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("read status of pid %d: %w", pid, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			break
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse %s of pid %d: %w", field, pid, err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// Machine describes where a run happened, so a table can be read in context.
type Machine struct {
	CPUs      int     `json:"cpus"`
	Load1     float64 `json:"load1AtStart"`
	GoVersion string  `json:"goVersion"`
}

func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			m.Load1, _ = strconv.ParseFloat(f[0], 64)
		}
	}
	return m
}

// clockTick is USER_HZ, the unit of /proc/<pid>/stat times (100 on Linux).
const clockTick = 100

// procCPU is a process's CPU time so far; withChildren adds that of its
// reaped children (a postmaster's exited backends).
func procCPU(pid int, withChildren bool) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	_, rest, ok := strings.Cut(string(b), ") ")
	if !ok {
		return 0
	}
	f := strings.Fields(rest)
	if len(f) < 15 {
		return 0
	}
	// utime and stime, then cutime and cstime (fields 14 to 17 of stat).
	n := 2
	if withChildren {
		n = 4
	}
	var ticks int64
	for _, v := range f[11 : 11+n] {
		t, _ := strconv.ParseInt(v, 10, 64)
		ticks += t
	}
	return time.Duration(ticks) * time.Second / clockTick
}

// ppid is a process's parent.
func ppid(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if len(f) < 2 {
		return 0
	}
	p, _ := strconv.Atoi(f[1])
	return p
}

// treeCPU is the CPU time of pid, its reaped children and its live children
// (one level: a postmaster's backends and background processes).
func treeCPU(pid int) time.Duration {
	total := procCPU(pid, true)
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil || ppid(child) != pid {
			continue
		}
		total += procCPU(child, false)
	}
	return total
}

// cpuMeter measures CPU time of the processes a run involves.
type cpuMeter struct {
	worker, api, temporal, postmaster int // 0: not measured (or in this process)
}

type cpuSnap struct{ worker, api, temporal, bench, postgres time.Duration }

func (m cpuMeter) snap() cpuSnap {
	s := cpuSnap{bench: procCPU(os.Getpid(), false)}
	if m.worker != 0 && m.worker != os.Getpid() {
		s.worker, s.api = procCPU(m.worker, false), procCPU(m.api, false)
	}
	if m.temporal != 0 && m.temporal != os.Getpid() {
		s.temporal = procCPU(m.temporal, false)
	}
	if m.postmaster != 0 {
		s.postgres = treeCPU(m.postmaster)
	}
	return s
}

// perOrder is the CPU since an earlier snapshot, in ms per order; holds
// names the product's parts that ran in the bench process.
func (s cpuSnap) perOrder(since cpuSnap, orders int, holds string) CPU {
	f := func(a, b time.Duration) float64 {
		return math.Round(float64(a-b)/float64(time.Millisecond)/float64(orders)*10) / 10
	}
	return CPU{Worker: f(s.worker, since.worker), API: f(s.api, since.api), Temporal: f(s.temporal, since.temporal),
		Bench: f(s.bench, since.bench), BenchHolds: holds, Postgres: f(s.postgres, since.postgres)}
}

// localPostmaster finds the postmaster of a local PostgreSQL from one of
// its backends; 0 when the server is elsewhere.
func localPostmaster(backend int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(backend) + "/comm")
	if err != nil || !strings.HasPrefix(string(b), "postgres") {
		return 0
	}
	return ppid(backend)
}
