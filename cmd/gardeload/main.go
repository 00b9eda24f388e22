// Command gardeload is Garde's load tool: from a separate process, it sends
// realistic events (the example inventory's "Order Completed", ~750 bytes
// with three personal properties) to a running `garde serve` over keep-alive
// connections, and reports events acknowledged per second, batch latency
// percentiles and, given the server's pid, its peak resident memory and its
// CPU time and bytes written per event.
//
//	gardeload -url http://127.0.0.1:8080 -conns 16 -batch 100 -duration 20s -pid $(pidof garde)
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	json "github.com/goccy/go-json"

	"github.com/garde-privacy/garde/gardetest"
)

type result struct {
	Mode         string  `json:"mode"`
	Conns        int     `json:"conns"`
	Batch        int     `json:"batch"`
	Seconds      float64 `json:"seconds"`
	Events       int64   `json:"events"`
	EventsPerSec float64 `json:"events_per_sec"`
	Requests     int64   `json:"requests"`
	Errors       int64   `json:"errors"`
	Status429    int64   `json:"status_429"`
	P50ms        float64 `json:"p50_ms"`
	P99ms        float64 `json:"p99_ms"`
	MaxMs        float64 `json:"max_ms"`
	AvgEventB    int     `json:"avg_event_bytes"`
	ServerPeakMB float64 `json:"server_peak_rss_mb,omitempty"`
	// CPU over the run, in % of one core (Linux): the server's, and the
	// machine's idle and stolen time (a virtual machine's host running
	// others), which say how far the figure is the code's and how far the
	// neighbours'.
	ServerCPU   float64 `json:"server_cpu_pct"`
	MachineIdle float64 `json:"machine_idle_pct"`
	Steal       float64 `json:"steal_pct"`
	// Per event acknowledged: the server's CPU time, and the bytes it
	// wrote (its log, database and responses). They move far less with
	// the neighbours than events per second do: compare builds by them.
	ServerCPUPerEventUs float64 `json:"server_cpu_us_per_event,omitempty"`
	ServerBytesPerEvent float64 `json:"server_bytes_written_per_event,omitempty"`
	// The load tool's own CPU over the run, per event: what it takes of
	// the machine it shares with the server.
	LoaderCPUPerEventUs float64 `json:"loader_cpu_us_per_event,omitempty"`
}

func main() {
	url := flag.String("url", "http://127.0.0.1:8080", "Garde's base URL")
	key := flag.String("key", gardetest.ServerKey, "write key")
	conns := flag.Int("conns", 16, "concurrent keep-alive connections")
	batch := flag.Int("batch", 100, "events per /v1/batch call; 0 sends single /v1/track calls")
	duration := flag.Duration("duration", 20*time.Second, "how long to send")
	people := flag.Int("people", 20000, "distinct customers")
	pid := flag.Int("pid", 0, "the server's pid, to report its peak RSS (VmHWM), and its CPU time and bytes written per event")
	timeline := flag.Bool("timeline", false, "also print, on stderr, each second's events acknowledged and p99 latency")
	flag.Parse()
	if !strings.HasPrefix(*url, "http://") || strings.Trim(strings.TrimPrefix(*url, "http://"), "/") == "" {
		fmt.Fprintln(os.Stderr, "gardeload: -url must be http://host:port (plain HTTP, as on a loopback benchmark)")
		os.Exit(2)
	}
	*url = strings.TrimSuffix(*url, "/")

	bodies, avg := makeBodies(*batch, *people)
	before := readCPU(*pid)
	r := run(*url, *key, *conns, *batch, *duration, bodies, *timeline)
	r.AvgEventB = avg
	if *pid > 0 {
		r.ServerPeakMB = peakRSS(*pid)
	}
	before.report(readCPU(*pid), &r)
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
	if r.Errors > 0 {
		os.Exit(1)
	}
}

// makeBodies pre-generates request bodies so that the tool spends its CPU on
// sending, not on generating.
func makeBodies(batch, people int) ([][]byte, int) {
	g := gardetest.NewGenerator(42)
	persons := make([]gardetest.Person, people)
	for i := range persons {
		persons[i] = g.Person()
	}
	n := 400
	if batch == 0 {
		n = 20000
	}
	bodies := make([][]byte, n)
	total, events := 0, 0
	for i := range bodies {
		if batch == 0 {
			b, _ := json.Marshal(g.Order(persons[(i*7919)%people]))
			bodies[i] = b
			total += len(b)
			events++
			continue
		}
		msgs := make([]map[string]any, batch)
		for j := range msgs {
			msgs[j] = g.Order(persons[(i*batch+j)%people])
			b, _ := json.Marshal(msgs[j])
			total += len(b)
			events++
		}
		bodies[i], _ = json.Marshal(map[string]any{"batch": msgs})
	}
	return bodies, total / events
}

// sample is one acknowledged call: when it started, since the run did,
// and how long it took.
type sample struct{ at, took time.Duration }

func run(url, key string, conns, batch int, d time.Duration, bodies [][]byte, timeline bool) result {
	path, perReq := "/v1/batch", batch
	if batch == 0 {
		path, perReq = "/v1/track", 1
	}
	host := strings.TrimPrefix(strings.TrimPrefix(url, "http://"), "https://")
	reqs := make([][]byte, len(bodies))
	for i, b := range bodies {
		reqs[i] = request(host, path, key, b)
	}
	var events, requests, errs, busy atomic.Int64
	lat := make([][]sample, conns)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := client{addr: host}
			defer cl.close()
			for i := c; ctx.Err() == nil; i += conns {
				t0 := time.Now()
				status, err := cl.do(reqs[i%len(reqs)])
				if err != nil {
					errs.Add(1)
					continue
				}
				requests.Add(1)
				switch status {
				case http.StatusOK:
					lat[c] = append(lat[c], sample{t0.Sub(start), time.Since(t0)})
					events.Add(int64(perReq))
				case http.StatusTooManyRequests:
					busy.Add(1)
					time.Sleep(50 * time.Millisecond)
				default:
					errs.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	samples := slices.Concat(lat...)
	if timeline {
		printTimeline(samples, perReq)
	}
	all := make([]time.Duration, len(samples))
	for i, s := range samples {
		all[i] = s.took
	}
	slices.Sort(all)
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[min(len(all)-1, int(p*float64(len(all))))].Microseconds()) / 1000
	}
	mode := "batch"
	if batch == 0 {
		mode = "single"
	}
	return result{
		Mode: mode, Conns: conns, Batch: perReq, Seconds: secs, Events: events.Load(),
		EventsPerSec: float64(events.Load()) / secs, Requests: requests.Load(), Errors: errs.Load(), Status429: busy.Load(),
		P50ms: pct(0.50), P99ms: pct(0.99), MaxMs: pct(1),
	}
}

// printTimeline writes, for each second of the run (by when calls
// started), the events acknowledged and the calls' p99 latency.
func printTimeline(samples []sample, perReq int) {
	var secs [][]time.Duration
	for _, s := range samples {
		i := int(s.at / time.Second)
		for len(secs) <= i {
			secs = append(secs, nil)
		}
		secs[i] = append(secs[i], s.took)
	}
	for i, l := range secs {
		slices.Sort(l)
		p99 := 0.0
		if len(l) > 0 {
			p99 = float64(l[min(len(l)-1, len(l)*99/100)].Microseconds()) / 1000
		}
		fmt.Fprintf(os.Stderr, "second %d: %d events, p99 %.1f ms\n", i, len(l)*perReq, p99)
	}
}

// request is a whole HTTP/1.1 request of body, the write key sent as
// Basic authentication, as an SDK sends it.
func request(host, path, key string, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Basic %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		path, host, base64.StdEncoding.EncodeToString([]byte(key+":")), len(body))
	b.Write(body)
	return b.Bytes()
}

// client is one keep-alive connection that writes each request whole and
// reads its response in the same goroutine: net/http's Transport hands
// every request to a writer and a reader goroutine of its own, which cost
// as much CPU as the server's own HTTP layer per call, on the cores the
// server is measured on.
type client struct {
	addr string
	conn net.Conn
	br   *bufio.Reader
}

// do sends req and returns the response's status once its body is read.
// Any error closes the connection; the next call dials again.
func (c *client) do(req []byte) (int, error) {
	if c.conn == nil {
		conn, err := net.DialTimeout("tcp", c.addr, 5*time.Second)
		if err != nil {
			return 0, err
		}
		c.conn, c.br = conn, bufio.NewReaderSize(conn, 16<<10)
	}
	c.conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.conn.Write(req); err != nil {
		c.close()
		return 0, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.close()
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || resp.Close {
		c.close()
	}
	return resp.StatusCode, err
}

func (c *client) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

// peakRSS reads the peak resident set (VmHWM) of a process, in MB.
func peakRSS(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(rest), "%f", &kb)
			return kb / 1024
		}
	}
	return 0
}

// cpuSample is what /proc says of the CPU time spent so far: the machine's
// jiffies (all, idle and iowait, stolen) and the server's.
type cpuSample struct {
	at                       time.Time
	total, idle, steal, proc int64
	written                  int64         // the process's bytes written (wchar), -1: unknown
	self                     time.Duration // this tool's CPU time
	ok                       bool
}

// readCPU samples /proc/stat and, if pid > 0, /proc/pid/stat.
func readCPU(pid int) cpuSample {
	s := cpuSample{at: time.Now()}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return s
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return s
	}
	for i, v := range f[1:] {
		var n int64
		fmt.Sscan(v, &n)
		s.total += n
		switch i {
		case 3, 4: // idle, iowait
			s.idle += n
		case 7:
			s.steal += n
		}
	}
	s.written = -1
	if pid > 0 {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid)); err == nil {
			for line := range strings.Lines(string(b)) {
				if v, ok := strings.CutPrefix(line, "wchar:"); ok {
					fmt.Sscan(strings.TrimSpace(v), &s.written)
				}
			}
		}
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
			// fields after the command's closing parenthesis: utime and
			// stime are the 12th and 13th
			if i := strings.LastIndexByte(string(b), ')'); i > 0 {
				if p := strings.Fields(string(b[i+1:])); len(p) > 12 {
					var u, st int64
					fmt.Sscan(p[11], &u)
					fmt.Sscan(p[12], &st)
					s.proc = u + st
				}
			}
		}
	}
	s.ok = true
	return s
}

// report fills r with the CPU spent between s and e, in % of one core.
func (s cpuSample) report(e cpuSample, r *result) {
	if !s.ok || !e.ok || e.total <= s.total {
		return
	}
	cores := float64(runtime.NumCPU())
	round := func(x float64) float64 { return math.Round(x*10) / 10 }
	share := func(d int64) float64 { return round(100 * cores * float64(d) / float64(e.total-s.total)) }
	r.MachineIdle, r.Steal = share(e.idle-s.idle), share(e.steal-s.steal)
	// process jiffies are 1/100 s (USER_HZ)
	r.ServerCPU = round(float64(e.proc-s.proc) / e.at.Sub(s.at).Seconds())
	if r.Events > 0 && e.proc > s.proc {
		r.ServerCPUPerEventUs = round(float64(e.proc-s.proc) * 1e4 / float64(r.Events))
	}
	if r.Events > 0 {
		r.LoaderCPUPerEventUs = round(float64((e.self - s.self).Microseconds()) / float64(r.Events))
	}
	if r.Events > 0 && s.written >= 0 && e.written >= s.written {
		r.ServerBytesPerEvent = math.Round(float64(e.written-s.written) / float64(r.Events))
	}
}
