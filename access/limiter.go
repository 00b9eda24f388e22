package access

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter is an in-memory set of token buckets, one per key (a source
// address, an account). It forgets buckets that have refilled, and keeps at
// most maxLimiterKeys: past that it starts afresh rather than grow, which an
// attacker with many addresses could use to reset the per-address limit but
// not the per-account one nor the lock-out.
type Limiter struct {
	limit   rate.Limit
	burst   int
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

const maxLimiterKeys = 100_000

// NewLimiter returns a limiter of r per key.
func NewLimiter(r RateLimit) *Limiter {
	return &Limiter{limit: rate.Every(r.Every), burst: r.Burst, buckets: make(map[string]*bucket)}
}

// Allow takes a token from key's bucket at now and reports whether there was
// one.
func (l *Limiter) Allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxLimiterKeys {
			l.sweep(now)
		}
		b = &bucket{lim: rate.NewLimiter(l.limit, l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	return b.lim.AllowN(now, 1)
}

// sweep drops the buckets that are full again, or all of them if that is
// not enough.
func (l *Limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.lim.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxLimiterKeys {
		clear(l.buckets)
	}
}

// ipKey is the limiter key of a remote address ("host:port" or "host"): the
// address itself for IPv4, its /64 network for IPv6, where one client
// commonly holds a whole /64.
func ipKey(remoteAddr string) string {
	host := remoteAddr
	if h, _, err := net.SplitHostPort(remoteAddr); err == nil {
		host = h
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return "?" + host[:min(len(host), 64)]
	}
	ip = ip.Unmap()
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.String()
		}
	}
	return ip.String()
}
