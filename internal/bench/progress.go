package bench

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// counter is one bar of the progress display.
type counter struct {
	label string
	total int64
	get   func() int64
}

// progress redraws one status line on a terminal (every 200 ms), or prints
// a plain line every 5 s when the output is a file or CI log.
type progress struct {
	w     io.Writer
	tty   bool
	title string
	bars  []counter
	start time.Time
	stop  chan struct{}
	wg    sync.WaitGroup
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func startProgress(w io.Writer, title string, bars ...counter) *progress {
	p := &progress{w: w, tty: isTerminal(w), title: title, bars: bars, start: time.Now(), stop: make(chan struct{})}
	if w == nil {
		return p
	}
	every := 5 * time.Second
	if p.tty {
		every = 200 * time.Millisecond
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				p.draw(true)
				return
			case <-t.C:
				p.draw(false)
			}
		}
	}()
	return p
}

func (p *progress) draw(final bool) {
	var b strings.Builder
	if p.tty {
		b.WriteString("\r\033[K")
	}
	fmt.Fprintf(&b, "%s %5.1fs", p.title, time.Since(p.start).Seconds())
	for i, c := range p.bars {
		n := c.get()
		if i == 0 && p.tty {
			const width = 24
			done := 0
			if c.total > 0 {
				done = int(min(n, c.total) * width / c.total)
			}
			fmt.Fprintf(&b, " [%s%s]", strings.Repeat("#", done), strings.Repeat(".", width-done))
		}
		fmt.Fprintf(&b, " %s %d/%d", c.label, n, c.total)
	}
	if !p.tty || final {
		b.WriteString("\n")
	}
	_, _ = io.WriteString(p.w, b.String())
}

// Stop draws the last state and ends the line.
func (p *progress) Stop() {
	if p.w == nil {
		return
	}
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	p.wg.Wait()
}
